# syntax=docker/dockerfile:1
# switchyard: build a release binary, ship it on a slim non-root runtime.
#   docker build -t switchyard .
#   docker run -it --rm switchyard demo                     # the console demo
#   docker run --rm -v $PWD/my.toml:/etc/switchyard/config.toml switchyard check-config /etc/switchyard/config.toml
# scripts/test checks this file without a Docker engine: hadolint lints it, and
# tests/it/dockerfile.rs runs the build stage's RUN steps against a copy of the
# manifest (see there for what it runs instead of the release build).

FROM rust:1.95-slim-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
# The manifest and lock first, with stub targets, so dependencies build in their
# own cached layer and a source change does not rebuild them. Cargo reads every
# target the manifest declares (each [[bench]] and [[test]]) before it builds
# anything, even `--bin switchyard`, so each gets a stub; the list is read from
# Cargo.toml itself (`path`, or the directory of its kind plus `name`.rs), so a
# new bench or test target needs no change here.
COPY Cargo.toml Cargo.lock build.rs ./
RUN mkdir -p src intents prompts config \
 && echo 'fn main() {}' > src/main.rs && touch src/lib.rs config/demo.toml \
 && awk -F'"' ' \
      function stub() { if (dir != "") print (path != "" ? path : dir "/" name ".rs") }; \
      /^\[/ { stub(); dir = ""; name = ""; path = "" }; \
      /^\[\[bench\]\]/ { dir = "benches" }; \
      /^\[\[test\]\]/ { dir = "tests" }; \
      /^\[\[example\]\]/ { dir = "examples" }; \
      /^\[\[bin\]\]/ { dir = "src/bin" }; \
      /^name *=/ { name = $2 }; \
      /^path *=/ { path = $2 }; \
      END { stub() }' Cargo.toml \
    | while read -r stub; do mkdir -p "$(dirname "$stub")" && echo 'fn main() {}' > "$stub"; done \
 && cargo build --release --locked \
 && rm -rf src benches tests examples intents prompts config
COPY . .
# Touch the sources so cargo rebuilds them rather than trusting the stub layer.
RUN touch src/main.rs src/lib.rs && cargo build --release --locked \
 && strip target/release/switchyard

FROM debian:bookworm-slim
# ca-certificates follows Debian's security updates; pinning its version would
# only make the image fail to build when bookworm moves on.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/switchyard --create-home switchyard
COPY --from=build /src/target/release/switchyard /usr/local/bin/switchyard
COPY config/demo.toml /etc/switchyard/config.toml
ENV SWITCHYARD_CONFIG=/etc/switchyard/config.toml
# By number: a runtime that cannot read /etc/passwd still runs it unprivileged.
USER 10001:10001
WORKDIR /var/lib/switchyard
# `switchyard healthcheck` asks GET /healthz on the configured `http.listen`
# (served by `switchyard run`); with no `http.listen` (the demo) there is no
# endpoint, and health means "the binary runs and its configuration is valid".
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
  CMD ["switchyard", "healthcheck"]
ENTRYPOINT ["switchyard"]
CMD ["demo"]
