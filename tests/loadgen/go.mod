// Helper module for slotkeeper's Redis Cluster load generator
// (tests/loadgen/build.sh builds it). go-redis v9.22.0 is the newest release
// that still builds with Go 1.24, the floor of the other helper modules.
module slotkeeper.test/loadgen

go 1.24.0

require github.com/redis/go-redis/v9 v9.22.0

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	golang.org/x/sys v0.30.0 // indirect
)
