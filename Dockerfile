# syntax=docker/dockerfile:1
# Multi-stage build of FPL Chat: a Rust builder with cargo-leptos, then a small non-root
# runtime image holding only the server binary and the site (WASM, JS, CSS, assets).

FROM rust:1.95-bookworm AS builder
ENV CARGO_TERM_COLOR=never
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
RUN rustup target add wasm32-unknown-unknown \
 && cargo install cargo-leptos --locked --version 0.3.10 \
 && cargo install wasm-bindgen-cli --version 0.2.130
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN cargo leptos build --release --precompress \
 && cp target/release/fpl-chat target/release/hash.txt /

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin fplchat \
 && mkdir -p /app/data && chown fplchat /app/data
WORKDIR /app
COPY --from=builder /fpl-chat /app/fpl-chat
# The content-hashed names of the site's JS, WASM and CSS, read from beside the binary.
COPY --from=builder /hash.txt /app/hash.txt
COPY --from=builder /src/target/site /app/site
USER fplchat
# PORT is set by Railway; without LEPTOS_SITE_ADDR the server binds 0.0.0.0:$PORT.
ENV PORT=3000 \
    LEPTOS_SITE_ROOT=/app/site \
    LEPTOS_ENV=PROD \
    DATABASE_URL=sqlite:///app/data/fpl-chat.db \
    RUST_LOG=info,tower_http=warn,sqlx=warn
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${PORT}/healthz" || exit 1
ENTRYPOINT ["/app/fpl-chat"]
CMD ["serve"]
