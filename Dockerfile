# syntax=docker/dockerfile:1
# pmops: static binaries (mcp, slackbot, postman-emulator) on a distroless base, running as a non-root user.
#   docker build -t pmops .
#   docker run --rm pmops mcp tools
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
# go.mod replaces one dependency with the patched copy in third_party (see third_party/README.md).
COPY third_party ./third_party
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
# Pure Go throughout (modernc SQLite), so CGO is off and the binaries are fully static.
RUN CGO_ENABLED=0 GOFLAGS=-trimpath go build -ldflags="-s -w" -o /out/ ./cmd/mcp ./cmd/slackbot ./cmd/postman-emulator

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
# State (the SQLite default) goes to /data when no -store redis:// is given.
WORKDIR /data
USER nonroot:nonroot
ENV PMOPS_DB=/data/pmops.db
EXPOSE 3000 8080 8090 9090
ENTRYPOINT []
CMD ["slackbot", "-help"]
