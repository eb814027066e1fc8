# syntax=docker/dockerfile:1
#
# Sluice image: a static binary on distroless, running as nonroot.
#
#   docker build -t sluice .
#   docker run -v "$PWD/compose/sluice.yaml:/etc/sluice/sluice.yaml:ro" -p 8080:8080 sluice
#
# The image holds no configuration (and so no secret): mount one at
# /etc/sluice/sluice.yaml, as docker-compose.yml does. test/compose checks
# that the RUN line below builds a static executable, so keep the whole go
# build command on it.

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so editing code does not re-download them.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /sluice ./cmd/sluice

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /sluice /sluice
USER nonroot
EXPOSE 8080
ENTRYPOINT ["/sluice","serve","--config","/etc/sluice/sluice.yaml"]
