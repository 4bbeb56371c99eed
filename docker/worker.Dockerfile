# syntax=docker/dockerfile:1
# shoal-worker image: shoal-worker, shoal-train (cuda + cpu backends; NCCL, Gloo and Open MPI)
# and the `shoal` CLI, on NVIDIA's CUDA runtime image, as the non-root user 10001. The Helm
# chart runs it as the GPU worker DaemonSet (and, with --no-gpu, as the CPU worker Deployment).
#
#   docker build -f docker/worker.Dockerfile -t shoal-worker:0.1.0 .
#   docker build -f docker/worker.Dockerfile --build-arg CUDA_ARCHITECTURES="90" -t ... .
#   docker run --rm --gpus all shoal-worker:0.1.0 --scheduler http://HOST:8470 --token-file F
#
# The GPU driver (libcuda.so.1) is not in the image: the NVIDIA Container Toolkit mounts the
# host's at run time.
ARG CUDA_VERSION=13.0.1
ARG UBUNTU_VERSION=24.04

# ---- build ----------------------------------------------------------------------------------
FROM nvidia/cuda:${CUDA_VERSION}-devel-ubuntu${UBUNTU_VERSION} AS build
ARG CUDA_ARCHITECTURES="80;90"
ENV DEBIAN_FRONTEND=noninteractive
# Ubuntu's archive: yaml-cpp, Boost (Asio/Beast headers), nlohmann-json, SQLite, OpenBLAS, Gloo,
# Open MPI, OpenSSL, zlib. NVIDIA's CUDA repository (configured in the base image): NCCL.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential g++ cmake pkg-config ca-certificates \
      libyaml-cpp-dev libboost-dev libboost-system-dev libcli11-dev nlohmann-json3-dev libsqlite3-dev \
      libopenblas-dev libgloo-dev libopenmpi-dev libnccl-dev \
      zlib1g-dev libssl-dev libicu-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Fails unless CMake found CUDA and NCCL: a worker image that silently built CPU-only would
# register its GPUs and then fail every cuda rank.
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHOAL_BUILD_TESTS=OFF \
      -DSHOAL_WITH_CUDA=ON -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc \
      -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHITECTURES}" | tee /tmp/configure.log \
 && grep -q 'shoal: \[✓\] CUDA' /tmp/configure.log \
 && grep -q 'shoal: \[✓\] NCCL' /tmp/configure.log \
 && grep -q 'shoal: \[✓\] Gloo' /tmp/configure.log \
 && cmake --build /build -j"$(nproc)" --target shoal-worker shoal-train shoal \
 && install -d /out/usr/local/bin \
 && install -m 0755 /build/worker/shoal-worker /build/worker/shoal-train /build/cli/shoal \
      /out/usr/local/bin/ \
 && strip --strip-debug /out/usr/local/bin/*
# The runtime packages: those that own the shared libraries the binaries load (ldd, then
# dpkg-query), e.g. libyaml-cpp0.8, libssl3t64, libopenblas0-pthread, libgloo0,
# libopenmpi3t64, zlib1g, libnccl2, cuda-cudart-13-0. The runtime stage installs exactly these.
RUN set -eu; \
    for so in $(ldd /out/usr/local/bin/* | awk '/=> \// { print $3 }' | sort -u); do \
      pkg=""; \
      for cand in "$so" "$(readlink -f "$so")"; do \
        rel="${cand#/}"; rel="${rel#usr/}"; \
        pkg="$(dpkg-query --search "$rel" 2>/dev/null | awk -F': ' '/: \// { print $1; exit }' \
               | cut -d, -f1 | cut -d: -f1)"; \
        [ -n "$pkg" ] && break; \
      done; \
      if [ -z "$pkg" ]; then echo "no package owns $so" >&2; exit 1; fi; \
      echo "$pkg"; \
    done | sort -u > /out/runtime-packages.txt; \
    cat /out/runtime-packages.txt

# ---- runtime --------------------------------------------------------------------------------
FROM nvidia/cuda:${CUDA_VERSION}-runtime-ubuntu${UBUNTU_VERSION}
ENV DEBIAN_FRONTEND=noninteractive
COPY --from=build /out/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
 && xargs -r apt-get install -y --no-install-recommends ca-certificates < /tmp/runtime-packages.txt \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && groupadd --system --gid 10001 shoal \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/shoal-worker --no-create-home \
      --shell /usr/sbin/nologin shoal \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/shoal-worker
COPY --from=build /out/usr/local/bin/ /usr/local/bin/
# Fail the build, not the pod, when a shared library is missing (libcuda.so.1 comes from the
# host's driver at run time and is loaded with dlopen).
RUN if ldd /usr/local/bin/* | grep 'not found' | grep -v 'libcuda\.so'; then exit 1; fi \
 && /usr/local/bin/shoal-worker --help >/dev/null
LABEL org.opencontainers.image.title="shoal-worker" \
      org.opencontainers.image.description="shoal worker and trainer (CUDA, NCCL, Gloo, Open MPI)" \
      org.opencontainers.image.version="0.1.0"
USER 10001:10001
WORKDIR /var/lib/shoal-worker
ENTRYPOINT ["/usr/local/bin/shoal-worker"]
CMD ["--help"]
