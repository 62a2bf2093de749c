# pythonide: one static Go binary, plus the Python students' programs run
# with. Built in two stages so the image carries no compiler or sources.
#
#   docker build -t pythonide .
#   docker run -p 8080:8080 -v pythonide-data:/data -e PYTHONIDE_DB=postgres://… pythonide
#
# Validated on the build machine by deploy/dockerfile_test.go (no Docker engine
# or hadolint there): stages, packages, entrypoint, health check route, flags.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so a change to the sources does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
# The browser UI is committed pre-built in internal/web/assets (embedded), so
# no Node step is needed. CGO off: the SQLite driver is pure Go, and a static
# binary depends on nothing in the runtime image.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/pythonide ./cmd/pythonide

FROM debian:bookworm-slim
# Debian's packages, not pip: students get the numpy, pandas and matplotlib
# the distribution tests together, jedi for the editor's completions
# (internal/assist), and bubblewrap for the namespace layer.
# tini is PID 1: it forwards SIGTERM to the server (which drains and ends
# programs with reason "shutdown") and reaps orphans students' programs leave.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      tini python3 python3-numpy python3-pandas python3-matplotlib python3-jedi bubblewrap ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/pythonide /usr/local/bin/pythonide
# The data folder (students' homes under ide/, SQLite if no --db) and every
# folder above it must be traversable by the sandbox uid (65534): 0755.
RUN install -d -m 0755 /data
VOLUME /data

# No USER line, on purpose: the server runs as root *inside the container* so
# that it can drop each student's program to the unprivileged sandbox uid
# (--sandbox-uid, default 65534 "nobody") and give students' homes to that uid.
# Without root, every program would run as the server's own uid and could
# read and write what the server can (other homes, the SQLite file). The root
# it needs is Docker's default, reduced set of capabilities (CHOWN,
# DAC_OVERRIDE, FOWNER, KILL, SETUID, SETGID are the ones used; the others
# may be dropped, as deploy/ecs-task-definition.json does); never run it
# --privileged. Students' programs never keep any capability.

EXPOSE 8080
# /healthz answers while the process serves; /readyz also checks the
# database and the data volume. python3 is in the image anyway (no curl).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python3", "-I", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["tini", "--", "/usr/local/bin/pythonide"]
CMD ["serve", "--listen", "0.0.0.0:8080", "--data", "/data"]
