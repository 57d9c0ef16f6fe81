#!/usr/bin/env bash
# Build the Legato OCI image without a registry or a container engine.
#
#   scripts/image/build.sh            # prints the archive path on stdout
#   LEGATO_IMAGE_SOURCE=DIR scripts/image/build.sh
#                                     # the same, built from DIR instead of this
#                                     # repository (a copy of its wheel sources,
#                                     # e.g. the e2e upgrade test's next release,
#                                     # e2e/next_release.py); DIR's files are
#                                     # listed with find, not git
#
# The image ($LEGATO_IMAGE_REPO:<package version>, default
# legato.local/legato/legato:0.1.0) holds legato-server, the SDK and the
# operator extras on a Debian bookworm root filesystem, in three layers, each
# cached under $LEGATO_E2E_CACHE/image keyed by a hash of what goes into it:
#
#   base  debootstrap --variant=minbase of BASE_PACKAGES, plus the `legato`
#         user (uid 10001).                          key: suite + package list
#   deps  a virtualenv at /opt/legato holding the PyPI dependencies of
#         legato[server,operator].      key: base key + requirement strings
#   app   the project's wheel, installed into that virtualenv without deps.
#         key: the contents of pyproject.toml, README.md and the package
#         folders pyproject.toml names (today sdk/, server/ and operator/)
#
# A code change therefore repacks only the small app layer (seconds); a new
# dependency rebuilds deps; only a new Debian package list runs debootstrap.
# The result is an OCI archive ($LEGATO_E2E_CACHE/image/legato-<version>.oci.tar)
# for `ctr images import`, `podman load` or `skopeo copy oci-archive:...`.
#
# Why host pip into the image's virtualenv: the image's Python (Debian's
# 3.11) and the build host's must share a minor version, so the wheels pip
# picks fit both; the console scripts' shebangs are rewritten to the image's
# interpreter. The script checks the versions match and says so if not.
#
# Logs go to $LEGATO_E2E_CACHE/logs/image-<phase>.log; a failure names the
# phase and its log. Needs root (debootstrap), debootstrap, python3 with pip.

INFRA_NAME=image
source "$(dirname "${BASH_SOURCE[0]}")/../infra/common.sh"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PACK="$REPO_ROOT/scripts/image/oci_pack.py"
# What the app layer (and the image's version) is built from.
SOURCE_ROOT="$(cd "${LEGATO_IMAGE_SOURCE:-$REPO_ROOT}" && pwd)"
IMAGE_CACHE="$LEGATO_E2E_CACHE/image"
LOG_DIR="$LEGATO_E2E_CACHE/logs"
mkdir -p "$IMAGE_CACHE" "$LOG_DIR"

SUITE=bookworm
# python3 is the runtime; tini is PID 1 (reaps children, forwards SIGTERM so a
# process without its own handler still stops at once); netbase gives
# /etc/services and /etc/protocols that name resolution expects.
BASE_PACKAGES="python3,tini,netbase"
# Bump when the way a layer is made changes, so old caches are not reused.
LAYOUT_VERSION=1
APP_UID=10001
VENV=/opt/legato
PYTHON="${PYTHON:-python3}"

need() { command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]] || die "missing tool '$1': $2"; }

# run_logged PHASE CMD...: run CMD with its output in the phase's log.
run_logged() {
    local phase=$1
    shift
    local logfile="$LOG_DIR/image-$phase.log"
    if ! nice -n "${LEGATO_E2E_NICE:-10}" "$@" >>"$logfile" 2>&1; then
        tail -n 20 "$logfile" >&2
        die "phase image-$phase failed; see $logfile"
    fi
}

sha() { sha256sum | cut -c1-16; }

# The mirror apt already uses (the only Debian source this machine may reach).
debian_mirror() {
    if [[ -n "${LEGATO_DEBIAN_MIRROR:-}" ]]; then
        echo "$LEGATO_DEBIAN_MIRROR"
        return
    fi
    local uri
    uri=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
        | grep -v security | grep -oE 'https?://[^ ]+/debian/?' | head -n1 || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

project_field() {
    "$PYTHON" - "$SOURCE_ROOT/pyproject.toml" "$1" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
if sys.argv[2] == "version":
    print(project["version"])
elif sys.argv[2] == "sources":  # the folders the wheel's packages come from
    config = tomllib.load(open(sys.argv[1], "rb"))
    print("\n".join(config["tool"]["setuptools"]["packages"]["find"]["where"]))
else:  # the requirements of legato[server,operator], one a line, sorted
    extras = project.get("optional-dependencies", {})
    reqs = [*project["dependencies"], *extras.get("server", []), *extras.get("operator", [])]
    print("\n".join(sorted(set(reqs))))
PY
}

build_base() {
    local dir="$IMAGE_CACHE/base-$BASE_KEY"
    [[ -s "$dir/layer.tar.gz.json" ]] && return 0
    need debootstrap "apt-get install debootstrap"
    [[ $(id -u) == 0 ]] || die "phase image-base needs root (debootstrap)"
    local logfile="$LOG_DIR/image-base.log" start=$SECONDS
    : >"$logfile"
    log "base layer: debootstrap $SUITE with $BASE_PACKAGES (cold: ~2-4 min); log: $logfile"
    local root="$dir/rootfs"
    rm -rf "$dir"
    mkdir -p "$root"
    run_logged base debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$root" "$(debian_mirror)"
    # What an image does not need: package lists, caches, documentation.
    rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
        "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/* "$root"/dev/* \
        "$root"/tmp/* "$root"/run/* "$root"/etc/machine-id "$root"/etc/hostname "$root"/etc/resolv.conf
    echo "legato:x:$APP_UID:$APP_UID:Legato:/home/legato:/usr/sbin/nologin" >>"$root/etc/passwd"
    echo "legato:x:$APP_UID:" >>"$root/etc/group"
    echo "legato:!:19000::::::" >>"$root/etc/shadow"
    install -d -o "$APP_UID" -g "$APP_UID" -m 0755 "$root/home/legato"
    install -d -m 0755 "$root/etc/legato"
    chroot "$root" /usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' >"$dir/python-version"
    run_logged base "$PYTHON" "$PACK" layer --dir "$root" --output "$dir/layer.tar.gz"
    rm -rf "$root"
    log "base layer built in $((SECONDS - start)) s"
}

build_deps() {
    local dir="$IMAGE_CACHE/deps-$DEPS_KEY"
    [[ -s "$dir/layer.tar.gz.json" ]] && return 0
    local image_python host_python
    image_python=$(cat "$IMAGE_CACHE/base-$BASE_KEY/python-version")
    host_python=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    [[ "$image_python" == "$host_python" ]] \
        || die "phase image-deps: the image has Python $image_python but $PYTHON is $host_python; set PYTHON"
    local logfile="$LOG_DIR/image-deps.log" start=$SECONDS
    : >"$logfile"
    log "deps layer: pip install of legato[server,operator]'s dependencies; log: $logfile"
    local root="$dir/rootfs"
    rm -rf "$dir"
    mkdir -p "$root$VENV/bin" "$root$VENV/lib/python$image_python/site-packages"
    # A virtualenv is just this file and a python link; the image's own python.
    printf 'home = /usr/bin\ninclude-system-site-packages = false\nversion = %s\n' \
        "$image_python" >"$root$VENV/pyvenv.cfg"
    ln -s /usr/bin/python3 "$root$VENV/bin/python"
    ln -s python "$root$VENV/bin/python3"
    project_field requirements >"$dir/requirements.txt"
    run_logged deps "$PYTHON" -m pip install --disable-pip-version-check --no-warn-script-location \
        --ignore-installed --prefix "$root$VENV" -r "$dir/requirements.txt"
    fix_shebangs "$root$VENV/bin"
    run_logged deps "$PYTHON" "$PACK" layer --dir "$root" --output "$dir/layer.tar.gz"
    rm -rf "$root"
    log "deps layer built in $((SECONDS - start)) s"
}

# fix_shebangs DIR: console scripts pip wrote for the host's python run the image's.
fix_shebangs() {
    local f
    for f in "$1"/*; do
        [[ -f "$f" && ! -L "$f" ]] || continue
        if head -c 2 "$f" | grep -q '^#!'; then
            sed -i "1s|^#!.*python.*$|#!$VENV/bin/python|" "$f"
        fi
    done
}

# wheel_sources: every file the wheel is built from (pyproject.toml, README.md
# and the package folders pyproject names), tracked or not, one a line.
wheel_sources() {
    local folders
    mapfile -t folders < <(project_field sources)
    if [[ "$SOURCE_ROOT" == "$REPO_ROOT" ]]; then
        (cd "$REPO_ROOT" && git ls-files -co --exclude-standard -- pyproject.toml README.md "${folders[@]}")
    else
        (cd "$SOURCE_ROOT" && find pyproject.toml README.md "${folders[@]}" -type f)
    fi | grep -v -e '/__pycache__/' -e '\.egg-info/' | LC_ALL=C sort
}

# The app layer's key: every file that goes into the wheel, by content.
app_key() {
    wheel_sources | "$PYTHON" -c '
import hashlib, os, sys
key = hashlib.sha256(sys.argv[2].encode())
for name in sys.stdin.read().splitlines():
    path = os.path.join(sys.argv[1], name)
    if os.path.isfile(path):
        key.update(name.encode() + b"\0" + hashlib.sha256(open(path, "rb").read()).digest())
print(key.hexdigest()[:16])' "$SOURCE_ROOT" "$DEPS_KEY"
}

build_app() {
    local dir="$IMAGE_CACHE/app-$APP_KEY"
    [[ -s "$dir/layer.tar.gz.json" ]] && return 0
    local logfile="$LOG_DIR/image-app.log" start=$SECONDS
    : >"$logfile"
    log "app layer: the legato wheel; log: $logfile"
    rm -rf "$dir"
    mkdir -p "$dir/src" "$dir/wheel" "$dir/rootfs"
    # Build from a copy: an in-tree build would leave build/ and egg-info behind.
    wheel_sources | while read -r f; do
        [[ -f "$SOURCE_ROOT/$f" ]] && printf '%s\0' "$f"
    done | (cd "$SOURCE_ROOT" && xargs -0 cp --parents -t "$dir/src")
    run_logged app "$PYTHON" -m pip wheel --disable-pip-version-check --no-deps --no-build-isolation \
        -w "$dir/wheel" "$dir/src"
    local wheel
    wheel=$(ls "$dir"/wheel/legato-*.whl)
    local image_python
    image_python=$(cat "$IMAGE_CACHE/base-$BASE_KEY/python-version")
    # Install into a scratch tree, then keep only what the wheel added: the
    # layer must not repeat the deps layer's files.
    run_logged app "$PYTHON" -m pip install --disable-pip-version-check --no-warn-script-location \
        --no-deps --ignore-installed --prefix "$dir/rootfs$VENV" "$wheel"
    fix_shebangs "$dir/rootfs$VENV/bin"
    [[ -d "$dir/rootfs$VENV/lib/python$image_python/site-packages/legato" ]] \
        || die "phase image-app: the wheel did not install into python$image_python; see $logfile"
    run_logged app "$PYTHON" "$PACK" layer --dir "$dir/rootfs" --output "$dir/layer.tar.gz"
    rm -rf "$dir/src" "$dir/rootfs"
    log "app layer built in $((SECONDS - start)) s"
}

main() {
    local start=$SECONDS
    # One build at a time per cache (test runs may call this concurrently).
    exec 9>"$IMAGE_CACHE/.lock"
    flock 9
    need "$PYTHON" "python3 (3.11, like Debian bookworm's)"
    "$PYTHON" -m pip --version >/dev/null 2>&1 || die "missing tool: pip for $PYTHON"
    VERSION=$(project_field version)
    IMAGE="${LEGATO_IMAGE_REPO:-legato.local/legato/legato}:$VERSION"
    BASE_KEY=$(printf '%s\n' "$LAYOUT_VERSION" "$SUITE" "$BASE_PACKAGES" "$APP_UID" | sha)
    DEPS_KEY=$(
        printf '%s\n' "$BASE_KEY" "$VENV" "$("$PYTHON" -c 'import sys; print(sys.version_info[:2])')"
        project_field requirements
    )
    DEPS_KEY=$(echo "$DEPS_KEY" | sha)
    APP_KEY=$(app_key)
    local output="$IMAGE_CACHE/legato-$VERSION.oci.tar"
    local stamp="$IMAGE_CACHE/legato-$VERSION.key"
    if [[ -s "$output" && "$(cat "$stamp" 2>/dev/null)" == "$APP_KEY" ]]; then
        log "$IMAGE: up to date ($output)"
        echo "$output"
        return 0
    fi
    build_base
    build_deps
    build_app
    rm -f "$stamp"
    run_logged pack "$PYTHON" "$PACK" image --name "$IMAGE" \
        --layer "$IMAGE_CACHE/base-$BASE_KEY/layer.tar.gz" \
        --layer "$IMAGE_CACHE/deps-$DEPS_KEY/layer.tar.gz" \
        --layer "$IMAGE_CACHE/app-$APP_KEY/layer.tar.gz" \
        --entrypoint '["/usr/bin/tini", "--"]' \
        --cmd '["legato-server", "start", "--config", "/etc/legato/config.yaml"]' \
        --env "PATH=$VENV/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --env PYTHONDONTWRITEBYTECODE=1 --env PYTHONUNBUFFERED=1 --env HOME=/home/legato \
        --user "$APP_UID:$APP_UID" --workdir /home/legato \
        --label "org.opencontainers.image.title=legato" \
        --label "org.opencontainers.image.version=$VERSION" \
        --output "$output"
    echo "$APP_KEY" >"$stamp"
    # Old app layers pile up with every code change; keep the newest few.
    ls -dt "$IMAGE_CACHE"/app-* 2>/dev/null | tail -n +4 | xargs -r rm -rf
    log "$IMAGE built in $((SECONDS - start)) s: $output ($(du -h "$output" | cut -f1))"
    echo "$output"
}

main "$@"
