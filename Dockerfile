# The slotkeeper operator image: Debian bookworm with the operator (the entrypoint), slotkeeper-cli,
# the kubectl-slotkeeper plugin and the shared libraries they link; it runs as 65532:65532 on a read-only root filesystem.
#
#   bash tests/docker/build-base-image.sh     # the base, made locally with debootstrap
#   docker build -t slotkeeper:0.1.0 .
#
# Both stages install Debian packages during the build, from the base image's apt sources
# (deb.debian.org).
ARG BASE_IMAGE=slotkeeper/debian-base:bookworm

FROM ${BASE_IMAGE} AS build
# The build dependencies get their own layer so that a source change does not reinstall them.
COPY scripts/setup.sh /src/scripts/setup.sh
RUN bash /src/scripts/setup.sh --build-only
COPY . /src
# scripts/build.sh's configuration (RelWithDebInfo: the binaries the tests run), for the two
# binaries only; the runtime stage takes stripped copies. The build tree is deleted in the same
# step: a source change rebuilds from scratch anyway, and kept it would add a layer of about a
# gigabyte to the build cache on every rebuild.
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null \
 && cmake --build /build --target slotkeeper slotkeeper-cli kubectl-slotkeeper -- -j"$(nproc)" \
 && mkdir /out \
 && strip --strip-unneeded -o /out/slotkeeper /build/controller/slotkeeper \
 && strip --strip-unneeded -o /out/slotkeeper-cli /build/controller/slotkeeper-cli \
 && strip --strip-unneeded -o /out/kubectl-slotkeeper /build/controller/kubectl-slotkeeper \
 && rm -rf /build

FROM ${BASE_IMAGE}
# Only the runtime libraries the binaries link (tests/docker/image_test.sh checks that ldd finds
# every one), and CA certificates for API servers reached through a kubeconfig.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates libcpp-httplib0.11 libssl3 zlib1g libbrotli1 \
      libyaml-cpp0.7 libhiredis0.14 libprometheus-cpp-core1.0 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /usr/local/bin/

# Declared after the layers above so that a new version or revision does not rebuild them.
ARG BASE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="slotkeeper" \
      org.opencontainers.image.description="Kubernetes operator for Redis Cluster" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"

# A numeric user, so that Kubernetes can check runAsNonRoot without an /etc/passwd entry. The
# operator writes no files: a read-only root filesystem works.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/slotkeeper"]
