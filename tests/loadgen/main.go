// Command loadgen is a bounded load generator for slotkeeper's Redis Cluster
// tests. It drives a cluster through go-redis's ClusterClient (the client real
// applications use, which follows MOVED/ASK redirects itself), checks every
// value it reads, reads back every acknowledged write at the end, and prints
// one JSON summary line on stdout. See README.md.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Exit codes.
const (
	exitOK     = 0 // no failed command, no wrong or missing value
	exitFailed = 1 // the run completed but saw failures
	exitUsage  = 2 // bad flags, or a seed address that is not loopback
)

const (
	maxFirstErrors = 10  // error messages kept for the summary
	verifyBatch    = 256 // keys per pipeline in the final read-back
	maxRedirects   = 16
	stopFilePoll   = 100 * time.Millisecond
	failurePause   = 10 * time.Millisecond // a worker's pause after a failed command
	maxClientLogs  = 20                    // go-redis log lines passed to stderr
)

type config struct {
	addrs        []string
	password     string
	passwordFile string
	duration     time.Duration
	maxOps       int64
	concurrency  int
	keys         int
	prefix       string
	stopFile     string
	timeout      time.Duration
	progress     time.Duration
	seriesFile   string
	rate         float64     // operations a second offered by all workers; 0: as fast as answered
	tls          *tls.Config // nil: plain TCP
}

func usageError(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
	os.Exit(exitUsage)
}

func parseFlags() config {
	var c config
	var addrs string
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.StringVar(&addrs, "addrs", "", "comma-separated seed addresses `ip:port` (loopback IPs only)")
	fs.StringVar(&c.password, "password", "", "Redis password (default: $LOADGEN_PASSWORD)")
	fs.StringVar(&c.passwordFile, "password-file", "", "read the password from this file for every new connection (overrides --password)")
	fs.DurationVar(&c.duration, "duration", 60*time.Second, "maximum run time of the load phase")
	fs.Int64Var(&c.maxOps, "max-ops", 1000000, "maximum number of operations (SET+GET) in the load phase")
	fs.IntVar(&c.concurrency, "concurrency", 8, "number of workers")
	fs.IntVar(&c.keys, "keys", 10000, "key space: distinct keys, split between the workers")
	fs.StringVar(&c.prefix, "prefix", "lg", "key prefix")
	fs.StringVar(&c.stopFile, "stop-file", "", "stop the load phase early once this file exists")
	fs.DurationVar(&c.timeout, "timeout", 3*time.Second, "per-command read/write timeout (and dial timeout)")
	fs.DurationVar(&c.progress, "progress", 10*time.Second, "progress line interval on stderr (0: none)")
	fs.StringVar(&c.seriesFile, "series-file", "", "write per-second throughput, failures, redirects and latency percentiles to this CSV file")
	fs.Float64Var(&c.rate, "rate", 0, "offer this many operations a second in all, on a fixed schedule, timing each from when it was due (0: each worker sends its next command when the last one answers)")
	var tlsCA, tlsCert, tlsKey, tlsServerName string
	fs.StringVar(&tlsCA, "tls-ca", "", "speak TLS, trusting the CA certificates in this PEM file")
	fs.StringVar(&tlsCert, "tls-cert", "", "client certificate (PEM) to present over TLS")
	fs.StringVar(&tlsKey, "tls-key", "", "its private key (PEM)")
	fs.StringVar(&tlsServerName, "tls-server-name", "", "name every node's certificate must carry (default: the address dialled)")
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(exitOK)
		}
		os.Exit(exitUsage)
	}
	if fs.NArg() > 0 {
		usageError("unexpected argument %q", fs.Arg(0))
	}
	if c.password == "" {
		c.password = os.Getenv("LOADGEN_PASSWORD")
	}
	if tlsCA != "" {
		cfg, err := tlsConfig(tlsCA, tlsCert, tlsKey, tlsServerName)
		if err != nil {
			usageError("%v", err)
		}
		c.tls = cfg
	} else if tlsCert != "" || tlsKey != "" || tlsServerName != "" {
		usageError("--tls-cert, --tls-key and --tls-server-name need --tls-ca")
	}
	for _, a := range strings.Split(addrs, ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.addrs = append(c.addrs, a)
		}
	}
	if len(c.addrs) == 0 {
		usageError("--addrs is required")
	}
	for _, a := range c.addrs {
		if err := checkLoopback(a); err != nil {
			usageError("refusing to start: seed address %v", err)
		}
	}
	switch {
	case c.duration <= 0:
		usageError("--duration must be > 0")
	case c.maxOps <= 0:
		usageError("--max-ops must be > 0")
	case c.concurrency <= 0:
		usageError("--concurrency must be > 0")
	case c.keys < c.concurrency:
		usageError("--keys (%d) must be >= --concurrency (%d)", c.keys, c.concurrency)
	case c.prefix == "":
		usageError("--prefix must not be empty")
	case c.timeout <= 0:
		usageError("--timeout must be > 0")
	case c.progress < 0:
		usageError("--progress must be >= 0")
	case c.rate < 0:
		usageError("--rate must be >= 0")
	}
	return c
}

// tlsConfig verifies every node against the CA (never skipped) and presents the client
// certificate when one is given.
func tlsConfig(caFile, certFile, keyFile, serverName string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-ca: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--tls-ca: %s holds no PEM certificate", caFile)
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
	if certFile != "" || keyFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %v", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// handshake runs the TLS client handshake on conn, verifying the node's name against the
// configured server name or, without one, the address dialled.
func handshake(ctx context.Context, conn net.Conn, base *tls.Config, addr string) (net.Conn, error) {
	cfg := base.Clone()
	if cfg.ServerName == "" {
		host, _, _ := net.SplitHostPort(addr)
		cfg.ServerName = host
	}
	tlsConn := tls.Client(conn, cfg)
	if err := tlsConn.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	return tlsConn, nil
}

// checkLoopback accepts only "ip:port" with an IPv4 address in 127.0.0.0/8.
// Host names are refused: what they resolve to is not ours to trust.
func checkLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: %v", addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q: bad port", addr)
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return fmt.Errorf("%q is not an IP address (host names are not accepted)", addr)
	}
	if ip4 := ip.To4(); ip4 == nil || ip4[0] != 127 {
		return fmt.Errorf("%q is not in 127.0.0.0/8", addr)
	}
	return nil
}

// stats is shared by the workers.
type stats struct {
	sets           atomic.Int64 // SET commands that completed (OK or error)
	gets           atomic.Int64 // GET commands that completed (value or error)
	writesAcked    atomic.Int64
	failed         atomic.Int64 // commands that returned an error after the client's retries
	readMismatches atomic.Int64 // GET of an acknowledged key: missing or wrong value
	refusedAddrs   atomic.Int64 // non-loopback node addresses the client was told about
	moved          atomic.Int64 // MOVED replies seen by the node clients (then followed)
	ask            atomic.Int64 // ASK replies seen by the node clients (then followed)
	slowOps        atomic.Int64 // SETs and GETs that took over slowOpThreshold
	latency        histogram    // every SET and GET of the load phase
	series         *series      // per-second rows; nil without --series-file

	mu          sync.Mutex
	firstErrors []string
	lostKeys    []lostKey // the first maxLostKeys acknowledged writes found missing or altered
}

// lostKey is one acknowledged write a later read did not find: the caller compares ackedAtMs
// with the window of a fault it injected to tell an expected loss from a real one.
type lostKey struct {
	Key       string `json:"key"`
	Kind      string `json:"kind"`        // read-missing, read-wrong, verify-missing, verify-wrong
	AckedAtMs int64  `json:"acked_at_ms"` // Unix ms when the write that went missing was acknowledged
	SeenAtMs  int64  `json:"seen_at_ms"`  // Unix ms of the read that noticed
}

const maxLostKeys = 1000

func (s *stats) recordLost(key, kind string, ackedAt int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.lostKeys) < maxLostKeys {
		s.lostKeys = append(s.lostKeys, lostKey{key, kind, ackedAt, time.Now().UnixMilli()})
	}
}

// slowOpThreshold marks an operation a client would feel as a stall.
const slowOpThreshold = time.Second

// recordLatency counts one operation's latency and outcome and counts the slow ones.
func (s *stats) recordLatency(d time.Duration, failed bool) {
	if d > slowOpThreshold {
		s.slowOps.Add(1)
	}
	s.latency.record(d) // retries and redirects included: the stall the application saw
	if s.series != nil {
		s.series.record(d, failed)
	}
}

func (s *stats) recordError(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.firstErrors) < maxFirstErrors {
		s.firstErrors = append(s.firstErrors, msg)
		fmt.Fprintf(os.Stderr, "loadgen: error: %s\n", msg)
	}
}

func (s *stats) commandFailed(cmd, key string, err error) {
	s.failed.Add(1)
	s.recordError(fmt.Sprintf("%s %s: %v", cmd, key, err))
}

// keyState tracks one key owned by a worker. Only that worker touches it
// until the load phase is over, so no locking.
type keyState struct {
	acked     int32 // round of the last acknowledged SET; -1: never acknowledged
	ackedAtMs int64 // Unix ms when that SET was acknowledged
	// rounds of SETs after the last acknowledged one that returned an error:
	// they may or may not have been applied, so their values are accepted too.
	uncertain []int32
}

type worker struct {
	id    int
	keys  []keyState
	pacer *pacer // nil: closed loop
	// indices of keys acknowledged at least once, for the interleaved GETs
	ackedList []int
}

func keyName(prefix string, w, idx int) string {
	return prefix + ":" + strconv.Itoa(w) + ":" + strconv.Itoa(idx)
}

// valueFor derives the value of a key's SET in a given round (a key is
// rewritten once per pass over the worker's share of the key space).
func valueFor(key string, round int32) string {
	return "v:" + key + ":r" + strconv.Itoa(int(round))
}

// check classifies a GET result against what was acknowledged:
// "" when it matches, otherwise "missing" or "wrong".
func (k *keyState) check(key string, val string, isNil bool) string {
	if isNil {
		return "missing"
	}
	if val == valueFor(key, k.acked) {
		return ""
	}
	for _, r := range k.uncertain {
		if val == valueFor(key, r) {
			return ""
		}
	}
	return "wrong"
}

type runner struct {
	cfg    config
	client *redis.ClusterClient
	st     *stats
	stop   atomic.Pointer[string] // why the load phase ends; nil while it runs
	issued atomic.Int64           // operations started, bounded by --max-ops
}

// requestStop ends the load phase; the first reason given wins.
func (r *runner) requestStop(reason string) {
	r.stop.CompareAndSwap(nil, &reason)
}

func (r *runner) stopReason() string {
	if p := r.stop.Load(); p != nil {
		return *p
	}
	return "workers-exited"
}

// takeOp reserves one operation; false once the run must end.
func (r *runner) takeOp() bool {
	if r.stop.Load() != nil {
		return false
	}
	if r.issued.Add(1) > r.cfg.maxOps {
		r.requestStop("max-ops")
		return false
	}
	return true
}

// nextStart is the time the worker's next operation is timed from: now in a closed loop, its
// slot on the schedule under --rate (after waiting for it).
func (w *worker) nextStart() time.Time {
	if w.pacer == nil {
		return time.Now()
	}
	return w.pacer.wait()
}

func (r *runner) runWorker(ctx context.Context, w *worker) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(w.id)))
	n := len(w.keys)
	for seq := 0; ; seq++ {
		if !r.takeOp() {
			return
		}
		idx, round := seq%n, int32(seq/n)
		key := keyName(r.cfg.prefix, w.id, idx)
		ks := &w.keys[idx]
		began := w.nextStart()
		err := r.client.Set(ctx, key, valueFor(key, round), 0).Err()
		r.st.recordLatency(time.Since(began), err != nil)
		r.st.sets.Add(1)
		if err != nil {
			r.st.commandFailed("SET", key, err)
			ks.uncertain = append(ks.uncertain, round)
			time.Sleep(failurePause)
		} else {
			if ks.acked < 0 {
				w.ackedList = append(w.ackedList, idx)
			}
			ks.acked = round
			ks.ackedAtMs = time.Now().UnixMilli()
			ks.uncertain = ks.uncertain[:0]
			r.st.writesAcked.Add(1)
		}

		if len(w.ackedList) == 0 {
			continue
		}
		if !r.takeOp() {
			return
		}
		ridx := w.ackedList[rng.IntN(len(w.ackedList))]
		rkey := keyName(r.cfg.prefix, w.id, ridx)
		began = w.nextStart()
		val, err := r.client.Get(ctx, rkey).Result()
		isNil := errors.Is(err, redis.Nil)
		r.st.recordLatency(time.Since(began), err != nil && !isNil)
		r.st.gets.Add(1)
		if err != nil && !isNil {
			r.st.commandFailed("GET", rkey, err)
			time.Sleep(failurePause)
			continue
		}
		switch want := valueFor(rkey, w.keys[ridx].acked); w.keys[ridx].check(rkey, val, isNil) {
		case "missing":
			r.st.readMismatches.Add(1)
			r.st.recordLost(rkey, "read-missing", w.keys[ridx].ackedAtMs)
			r.st.recordError(fmt.Sprintf("GET %s: key missing (want %q)", rkey, want))
		case "wrong":
			r.st.readMismatches.Add(1)
			r.st.recordLost(rkey, "read-wrong", w.keys[ridx].ackedAtMs)
			r.st.recordError(fmt.Sprintf("GET %s: wrong value (got %q, want %q)", rkey, val, want))
		}
	}
}

type verifyResult struct {
	checked, missing, wrong int64
}

// verify reads back every acknowledged key through cluster pipelines.
func (r *runner) verify(ctx context.Context, workers []*worker) verifyResult {
	var res verifyResult
	type item struct {
		w   *worker
		idx int
		key string
	}
	batch := make([]item, 0, verifyBatch)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		pipe := r.client.Pipeline()
		cmds := make([]*redis.StringCmd, len(batch))
		for i, it := range batch {
			cmds[i] = pipe.Get(ctx, it.key)
		}
		_, _ = pipe.Exec(ctx) // per-command errors are inspected below
		for i, it := range batch {
			val, err := cmds[i].Result()
			isNil := errors.Is(err, redis.Nil)
			if err != nil && !isNil {
				r.st.commandFailed("GET(verify)", it.key, err)
				continue
			}
			res.checked++
			ks := &it.w.keys[it.idx]
			switch ks.check(it.key, val, isNil) {
			case "missing":
				res.missing++
				r.st.recordLost(it.key, "verify-missing", ks.ackedAtMs)
				r.st.recordError(fmt.Sprintf("verify %s: key missing (want %q)", it.key, valueFor(it.key, ks.acked)))
			case "wrong":
				res.wrong++
				r.st.recordLost(it.key, "verify-wrong", ks.ackedAtMs)
				r.st.recordError(fmt.Sprintf("verify %s: wrong value (got %q, want %q)", it.key, val, valueFor(it.key, ks.acked)))
			}
		}
		batch = batch[:0]
	}
	for _, w := range workers {
		for _, idx := range w.ackedList {
			batch = append(batch, item{w, idx, keyName(r.cfg.prefix, w.id, idx)})
			if len(batch) == verifyBatch {
				flush()
			}
		}
	}
	flush()
	return res
}

// watchStop sets r.stop when the stop file appears, on the first SIGINT or
// SIGTERM (a second one exits at once), or when done is closed.
func (r *runner) watchStop(done <-chan struct{}) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Fprintln(os.Stderr, "loadgen: signal received; stopping the load (again to abort)")
		r.requestStop("signal")
		<-sigs
		fmt.Fprintln(os.Stderr, "loadgen: aborted")
		os.Exit(130)
	}()
	if r.cfg.stopFile == "" {
		return
	}
	go func() {
		t := time.NewTicker(stopFilePoll)
		defer t.Stop()
		for {
			if _, err := os.Stat(r.cfg.stopFile); err == nil {
				fmt.Fprintf(os.Stderr, "loadgen: stop file %s present; stopping the load\n", r.cfg.stopFile)
				r.requestStop("stop-file")
				return
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
}

func (r *runner) newClient() *redis.ClusterClient {
	refusal := func(err error) error {
		return fmt.Errorf("loadgen: refusing to connect to node address %v", err)
	}
	dialer := &net.Dialer{Timeout: r.cfg.timeout, KeepAlive: 30 * time.Second}
	// With a password file, each new connection authenticates with what the file says then:
	// an application switching credentials while the password is rotated.
	var credentials func() (string, string)
	if r.cfg.passwordFile != "" {
		credentials = func() (string, string) {
			b, err := os.ReadFile(r.cfg.passwordFile)
			if err != nil {
				r.st.recordError(fmt.Sprintf("reading --password-file: %v", err))
				return "", r.cfg.password
			}
			return "", strings.TrimSpace(string(b))
		}
	}
	return redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:               r.cfg.addrs,
		Password:            r.cfg.password,
		CredentialsProvider: credentials,
		MaxRedirects:        maxRedirects,
		DialTimeout:         r.cfg.timeout,
		ReadTimeout:         r.cfg.timeout,
		WriteTimeout:        r.cfg.timeout,
		PoolSize:            r.cfg.concurrency + 4,
		// Redis 7.0 knows neither CLIENT SETINFO nor CLIENT MAINT_NOTIFICATIONS.
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		// Every connection, to a seed or to a node the cluster told us about.
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if err := checkLoopback(addr); err != nil {
				return nil, refusal(err)
			}
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil || r.cfg.tls == nil {
				return conn, err
			}
			// A custom dialer gets no TLS from go-redis: the handshake is ours.
			return handshake(ctx, conn, r.cfg.tls, addr)
		},
		// Every node client the cluster client creates (from CLUSTER SLOTS or
		// a MOVED/ASK target). It cannot fail, so a non-loopback node gets a
		// client whose dialer always refuses; the commands routed there fail.
		NewClient: func(opt *redis.Options) *redis.Client {
			if err := checkLoopback(opt.Addr); err != nil {
				refused := refusal(err)
				r.st.refusedAddrs.Add(1)
				r.st.recordError(refused.Error())
				opt.Dialer = func(context.Context, string, string) (net.Conn, error) {
					return nil, refused
				}
			}
			c := redis.NewClient(opt)
			c.AddHook(redirectCounter{r.st})
			return c
		},
	})
}

// redirectCounter is a node-client hook counting the MOVED and ASK replies
// that the cluster client then follows: evidence that a run really crossed a
// slot migration.
type redirectCounter struct{ st *stats }

func (h redirectCounter) count(err error) {
	if err == nil {
		return
	}
	switch msg := err.Error(); {
	case strings.HasPrefix(msg, "MOVED "):
		h.st.moved.Add(1)
	case strings.HasPrefix(msg, "ASK "):
		h.st.ask.Add(1)
	default:
		return
	}
	if h.st.series != nil {
		h.st.series.redirect()
	}
}

func (h redirectCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redirectCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.count(cmd.Err())
		return err
	}
}

func (h redirectCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			h.count(cmd.Err())
		}
		return err
	}
}

// clientLogger passes the first maxClientLogs lines of go-redis's internal
// log to stderr and counts the rest: a dead node makes the pool log every
// failed dial.
type clientLogger struct{ n atomic.Int64 }

func (l *clientLogger) Printf(_ context.Context, format string, v ...any) {
	switch n := l.n.Add(1); {
	case n <= maxClientLogs:
		fmt.Fprintf(os.Stderr, "loadgen: go-redis: "+strings.TrimSuffix(format, "\n")+"\n", v...)
	case n == maxClientLogs+1:
		fmt.Fprintln(os.Stderr, "loadgen: go-redis: further client log lines suppressed")
	}
}

type summary struct {
	Ops            int64     `json:"ops"`
	OpsPerSec      float64   `json:"ops_per_sec"`
	WritesAcked    int64     `json:"writes_acked"`
	Reads          int64     `json:"reads"`
	FailedCommands int64     `json:"failed_commands"`
	ReadMismatches int64     `json:"read_mismatches"`
	VerifyMissing  int64     `json:"verify_missing"`
	VerifyWrong    int64     `json:"verify_wrong"`
	DurationSec    float64   `json:"duration_sec"`
	FirstErrors    []string  `json:"first_errors"`
	Writes         int64     `json:"writes"`
	VerifyKeys     int64     `json:"verify_keys"`
	VerifySec      float64   `json:"verify_sec"`
	RefusedAddrs   int64     `json:"refused_addrs"`
	Moved          int64     `json:"moved"`
	Ask            int64     `json:"ask"`
	StopReason     string    `json:"stop_reason"`
	MaxLatencyMs   float64   `json:"max_latency_ms"`
	SlowOps        int64     `json:"slow_ops"`
	P50Ms          float64   `json:"p50_ms"`
	P99Ms          float64   `json:"p99_ms"`
	P999Ms         float64   `json:"p999_ms"`
	LostKeys       []lostKey `json:"lost_keys"`
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

func main() {
	cfg := parseFlags()
	redis.SetLogger(&clientLogger{})
	st := &stats{}
	r := &runner{cfg: cfg, st: st}
	r.client = r.newClient()

	workers := make([]*worker, cfg.concurrency)
	for i := range workers {
		n := cfg.keys / cfg.concurrency
		if i < cfg.keys%cfg.concurrency {
			n++
		}
		w := &worker{id: i, keys: make([]keyState, n)}
		for j := range w.keys {
			w.keys[j].acked = -1
		}
		workers[i] = w
	}

	// Commands run on a context that is never cancelled: a run bound that
	// expires mid-command must not turn that command into a failure. Each
	// command is bounded by the client's timeouts instead.
	ctx := context.Background()
	done := make(chan struct{})
	r.watchStop(done)
	fmt.Fprintf(os.Stderr, "loadgen: seeds=%s concurrency=%d keys=%d max-ops=%d duration=%s rate=%g\n",
		strings.Join(cfg.addrs, ","), cfg.concurrency, cfg.keys, cfg.maxOps, cfg.duration, cfg.rate)

	start := time.Now()
	if cfg.seriesFile != "" {
		sr, err := newSeries(cfg.seriesFile, start)
		if err != nil {
			usageError("--series-file: %v", err)
		}
		st.series = sr
		go sr.run(done)
	}
	deadline := time.AfterFunc(cfg.duration, func() { r.requestStop("duration") })
	if cfg.rate > 0 {
		perWorker := cfg.rate / float64(cfg.concurrency)
		for i, w := range workers {
			// Staggered, so the workers' operations are spread over each interval.
			offset := time.Duration(float64(time.Second) / cfg.rate * float64(i))
			w.pacer = newPacer(perWorker, start.Add(offset))
		}
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.runWorker(ctx, w)
		}()
	}
	if cfg.progress > 0 {
		go every(cfg.progress, done, func() {
			fmt.Fprintf(os.Stderr, "loadgen: t=%.0fs ops=%d acked=%d failed=%d mismatches=%d\n",
				time.Since(start).Seconds(), st.sets.Load()+st.gets.Load(),
				st.writesAcked.Load(), st.failed.Load(), st.readMismatches.Load())
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	deadline.Stop()
	close(done)

	stopReason := r.stopReason()
	if st.series != nil {
		if err := st.series.finish(); err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: writing --series-file: %v\n", err)
		}
	}

	vstart := time.Now()
	vres := r.verify(ctx, workers)
	vElapsed := time.Since(vstart)
	_ = r.client.Close()

	ops := st.sets.Load() + st.gets.Load()
	s := summary{
		Ops:            ops,
		WritesAcked:    st.writesAcked.Load(),
		Reads:          st.gets.Load(),
		FailedCommands: st.failed.Load(),
		ReadMismatches: st.readMismatches.Load(),
		VerifyMissing:  vres.missing,
		VerifyWrong:    vres.wrong,
		DurationSec:    round3(elapsed.Seconds()),
		Writes:         st.sets.Load(),
		VerifyKeys:     vres.checked,
		VerifySec:      round3(vElapsed.Seconds()),
		RefusedAddrs:   st.refusedAddrs.Load(),
		Moved:          st.moved.Load(),
		Ask:            st.ask.Load(),
		StopReason:     stopReason,
		MaxLatencyMs:   round3(float64(st.latency.maxNs.Load()) / 1e6),
		SlowOps:        st.slowOps.Load(),
		P50Ms:          round3(float64(st.latency.quantile(0.50)) / 1e6),
		P99Ms:          round3(float64(st.latency.quantile(0.99)) / 1e6),
		P999Ms:         round3(float64(st.latency.quantile(0.999)) / 1e6),
	}
	if elapsed > 0 {
		s.OpsPerSec = round3(float64(ops) / elapsed.Seconds())
	}
	st.mu.Lock()
	s.FirstErrors = append([]string{}, st.firstErrors...)
	s.LostKeys = append([]lostKey{}, st.lostKeys...)
	st.mu.Unlock()

	ok := s.FailedCommands == 0 && s.ReadMismatches == 0 && s.VerifyMissing == 0 && s.VerifyWrong == 0
	verdict := "PASS"
	if !ok {
		verdict = "FAIL"
	}
	fmt.Fprintf(os.Stderr, "loadgen: %s: %d ops in %.1fs (%.0f ops/s, stopped by %s), %d writes acked, %d reads, "+
		"%d failed commands, %d read mismatches, %d MOVED, %d ASK; verify: %d keys, %d missing, %d wrong (%.2fs)\n",
		verdict, s.Ops, s.DurationSec, s.OpsPerSec, s.StopReason, s.WritesAcked, s.Reads,
		s.FailedCommands, s.ReadMismatches, s.Moved, s.Ask, s.VerifyKeys, s.VerifyMissing, s.VerifyWrong, s.VerifySec)
	if err := writeJSONLine(os.Stdout, s); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: writing summary: %v\n", err)
		os.Exit(exitFailed)
	}
	if !ok {
		os.Exit(exitFailed)
	}
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
