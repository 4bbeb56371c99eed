# syntax=docker/dockerfile:1
# shoal-scheduler image: the scheduler with its dashboard, the `shoal` CLI (the Helm chart's test
# pod runs it) and shoal-sim, on a small Debian runtime, as the non-root user 10001.
#
#   docker build -f docker/scheduler.Dockerfile -t shoal-scheduler:0.1.0 .
#   docker run --rm -p 8470:8470 -v shoal-state:/var/lib/shoal shoal-scheduler:0.1.0
#
# Build and runtime stages use the same Debian point release, so the runtime library packages
# below are the ones the build linked against (see docker/README.md for how they were derived).
ARG DEBIAN_VERSION=12.11

# ---- build ----------------------------------------------------------------------------------
FROM debian:${DEBIAN_VERSION} AS build
ENV DEBIAN_FRONTEND=noninteractive
# scripts/install-deps.sh's build packages, less tests, fuzzing, MPI and data sets. CMake's
# configure step requires OpenBLAS and Gloo even when only the scheduler is built. npm: the
# dashboard's vendor files (npm ci in web/, the exact versions of web/package-lock.json); gettext:
# the CLI's zh_CN catalog (msgfmt).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ca-certificates \
      libyaml-cpp-dev libboost-dev libboost-system-dev libcli11-dev nlohmann-json3-dev libsqlite3-dev \
      libopenblas-dev libgloo-dev zlib1g-dev libssl-dev libicu-dev nodejs npm gettext \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cd web && npm ci --no-audit --no-fund --loglevel=error
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHOAL_WITH_CUDA=OFF \
      -DSHOAL_BUILD_TESTS=OFF \
 && cmake --build /build -j"$(nproc)" --target shoal-scheduler shoal shoal-sim \
 && install -d /out/usr/local/bin \
 && install -m 0755 /build/scheduler/shoal-scheduler /build/cli/shoal /build/scheduler/shoal-sim \
      /out/usr/local/bin/ \
 && strip --strip-debug /out/usr/local/bin/* \
 && install -d /out/usr/local/share/shoal \
 && cp -r /build/scheduler/ui /out/usr/local/share/shoal/ui \
 && cp -r /build/share/locale /out/usr/local/share/locale

# ---- runtime --------------------------------------------------------------------------------
FROM debian:${DEBIAN_VERSION}-slim
ENV DEBIAN_FRONTEND=noninteractive
# What the binaries link beyond libc6, libstdc++6 and libgcc-s1 (in the slim image already):
# yaml-cpp (config, job specs), SQLite (state), OpenSSL (TLS, SHA-256). ca-certificates: the CLI
# verifies an https:// scheduler against the system CAs (plus --ca-file).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libyaml-cpp0.7 libsqlite3-0 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 shoal \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/shoal --no-create-home \
      --shell /usr/sbin/nologin shoal \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/shoal
COPY --from=build /out/ /
# Fail the build, not the pod, when a shared library or the dashboard's vendor files are missing.
# The dashboard is in ../share/shoal/ui from the scheduler, where it looks without --ui-dir.
RUN if ldd /usr/local/bin/* | grep 'not found'; then exit 1; fi \
 && test -f /usr/local/share/shoal/ui/vendor/htm/standalone.module.js \
 && /usr/local/bin/shoal-scheduler --check-config --state-dir /var/lib/shoal
LABEL org.opencontainers.image.title="shoal-scheduler" \
      org.opencontainers.image.description="shoal scheduler, CLI and simulator" \
      org.opencontainers.image.version="0.1.0"
USER 10001:10001
WORKDIR /var/lib/shoal
EXPOSE 8470
# No HEALTHCHECK: Kubernetes ignores it (the Helm chart probes GET /healthz and /readyz), and the
# image has no HTTP client that would also speak TLS when tlsCert is set.
ENTRYPOINT ["/usr/local/bin/shoal-scheduler"]
# Outside Kubernetes: listen on every interface, state in /var/lib/shoal (mount a volume there).
# The chart replaces this with --config /etc/shoal/scheduler.yaml.
CMD ["--address", "0.0.0.0", "--state-dir", "/var/lib/shoal"]
