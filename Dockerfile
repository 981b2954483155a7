# syntax=docker/dockerfile:1
# switchyard: build a release binary, ship it on a slim non-root runtime.
#   docker build -t switchyard .
#   docker run -it --rm switchyard demo                     # the console demo
#   docker run --rm -v $PWD/my.toml:/etc/switchyard/config.toml switchyard check-config /etc/switchyard/config.toml

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# The manifest and lock first, with stub targets, so dependencies build in their
# own cached layer and a source change does not rebuild them.
COPY Cargo.toml Cargo.lock build.rs ./
RUN mkdir -p src benches tests/it intents prompts config \
 && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
 && echo 'fn main() {}' > benches/parse.rs && touch tests/it/main.rs config/demo.toml \
 && cargo build --release --locked \
 && rm -rf src benches tests intents prompts config
COPY . .
# Touch the sources so cargo rebuilds them rather than trusting the stub layer.
RUN touch src/main.rs src/lib.rs && cargo build --release --locked \
 && strip target/release/switchyard

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/switchyard --create-home switchyard
COPY --from=build /src/target/release/switchyard /usr/local/bin/switchyard
COPY config/demo.toml /etc/switchyard/config.toml
ENV SWITCHYARD_CONFIG=/etc/switchyard/config.toml
USER switchyard
WORKDIR /var/lib/switchyard
# Until the HTTP endpoints land (/healthz), health means "the binary runs and its
# configuration is valid".
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
  CMD ["switchyard", "check-config", "/etc/switchyard/config.toml"]
ENTRYPOINT ["switchyard"]
CMD ["demo"]
