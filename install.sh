#!/bin/sh
# Installs deployer: downloads the release archive for this machine and its
# SHA-256 checksum, verifies it, and puts the binary in place atomically.
#
#   curl -sSL https://github.com/deployer-cli/deployer/releases/latest/download/install.sh | sh
#
# Knobs (environment variables):
#   DEPLOYER_VERSION       release to install, e.g. v0.2.0 (default: the latest)
#   DEPLOYER_INSTALL_DIR   where to put `deployer` (default: ~/.local/bin, or
#                          /usr/local/bin when run as root)
#   DEPLOYER_DOWNLOAD_URL  the releases base URL, for mirrors (default below); its
#                          layout is GitHub Releases':
#                          BASE/download/<tag>/deployer-<target>.tar.gz for a version,
#                          BASE/latest/download/deployer-<target>.tar.gz for the latest,
#                          each with <asset>.sha256 beside it ("<hex>  <asset>")
#
# <target> is the Rust target triple. Linux builds are static (musl), so they run
# on any distribution: x86_64-unknown-linux-musl, aarch64-unknown-linux-musl;
# macOS: x86_64-apple-darwin, aarch64-apple-darwin. The archive holds `deployer`
# at its root.
#
# Nothing is installed unless the whole archive arrived and its checksum matches;
# the binary is written beside its destination and renamed into place, so an
# existing install is replaced in one step and never left half-written.

set -eu

BASE_URL="${DEPLOYER_DOWNLOAD_URL:-https://github.com/deployer-cli/deployer/releases}"
BASE_URL="${BASE_URL%/}"

say() {
    printf '%s\n' "$*"
}

fail() {
    printf 'deployer install: error: %s\n' "$*" >&2
    exit 1
}

target() {
    os=$(uname -s)
    arch=$(uname -m)
    case "$arch" in
        x86_64 | amd64) arch=x86_64 ;;
        aarch64 | arm64) arch=aarch64 ;;
        *) fail "unsupported CPU architecture: $arch (deployer is built for x86_64 and aarch64)" ;;
    esac
    case "$os" in
        Linux) printf '%s-unknown-linux-musl' "$arch" ;;
        Darwin) printf '%s-apple-darwin' "$arch" ;;
        *) fail "unsupported operating system: $os (deployer is built for Linux and macOS)" ;;
    esac
}

# download URL FILE: fails (without a half file being used) on any HTTP error
# or an interrupted transfer.
download() {
    if command -v curl >/dev/null 2>&1; then
        curl --fail --silent --show-error --location --retry 2 --output "$2" "$1" ||
            fail "could not download $1 (see the message above)"
    elif command -v wget >/dev/null 2>&1; then
        wget --quiet --output-document="$2" "$1" ||
            fail "could not download $1 (HTTP error or interrupted transfer)"
    else
        fail "neither curl nor wget is installed"
    fi
}

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d ' ' -f 1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d ' ' -f 1
    else
        fail "neither sha256sum nor shasum is installed, so the download cannot be verified"
    fi
}

default_dir() {
    if [ "$(id -u)" = 0 ]; then
        printf '/usr/local/bin'
    else
        printf '%s/.local/bin' "${HOME:?HOME is not set; set DEPLOYER_INSTALL_DIR}"
    fi
}

main() {
    target=$(target)
    asset="deployer-$target.tar.gz"
    version="${DEPLOYER_VERSION:-latest}"
    case "$version" in
        latest) url="$BASE_URL/latest/download/$asset" ;;
        v*) url="$BASE_URL/download/$version/$asset" ;;
        *) url="$BASE_URL/download/v$version/$asset" ;;
    esac
    dir="${DEPLOYER_INSTALL_DIR:-$(default_dir)}"

    tmp=$(mktemp -d 2>/dev/null || mktemp -d -t deployer)
    staged=""
    backup=""
    trap 'rm -rf "$tmp" ${staged:+"$staged"} ${backup:+"$backup"}' EXIT
    trap 'exit 130' INT TERM

    say "Downloading $url"
    download "$url" "$tmp/$asset"
    download "$url.sha256" "$tmp/$asset.sha256"

    expected=$(cut -d ' ' -f 1 <"$tmp/$asset.sha256")
    actual=$(sha256 "$tmp/$asset")
    if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
        fail "checksum mismatch for $asset: expected ${expected:-nothing}, got $actual; nothing was installed"
    fi

    # The archive must hold exactly one member, a regular file named
    # `deployer`: no link (symbolic or hard), no folder, no `../` path, nothing
    # beside it. It is listed before anything is extracted.
    members=$(tar -tzf "$tmp/$asset" 2>/dev/null) ||
        fail "$asset is not a valid archive; nothing was installed"
    case "$members" in
        deployer | ./deployer) ;;
        *) fail "$asset must hold only \`deployer\` at its root, but holds: $(printf '%s' "$members" | tr '\n' ' '); nothing was installed" ;;
    esac
    kind=$(tar -tvzf "$tmp/$asset" | cut -c 1)
    [ "$kind" = "-" ] ||
        fail "\`deployer\` in $asset is not a regular file (a link or a folder); nothing was installed"
    mkdir -p "$tmp/unpacked"
    tar -xzf "$tmp/$asset" -C "$tmp/unpacked" ||
        fail "$asset is not a valid archive; nothing was installed"
    binary="$tmp/unpacked/deployer"
    if [ -h "$binary" ] || [ ! -f "$binary" ]; then
        fail "\`deployer\` in $asset is not a regular file; nothing was installed"
    fi
    [ -x "$binary" ] ||
        fail "\`deployer\` in $asset is not executable; nothing was installed"
    magic=$(od -A n -t x1 -N 4 "$binary" | tr -d ' \n')
    case "$target:$magic" in
        *-linux-musl:7f454c46) ;;
        *-apple-darwin:cffaedfe | *-apple-darwin:cafebabe) ;;
        *) fail "\`deployer\` in $asset is not a program for $target (it starts with ${magic:-nothing}); nothing was installed" ;;
    esac

    mkdir -p "$dir" || fail "cannot create $dir"
    staged="$dir/.deployer.install.$$"
    cp "$binary" "$staged" || fail "cannot write to $dir"
    chmod 755 "$staged"
    # The old binary is kept beside the new one until the new one has run
    # from its place, and put back if it does not.
    backup=""
    if [ -f "$dir/deployer" ]; then
        backup="$dir/.deployer.previous.$$"
        cp -p "$dir/deployer" "$backup" || fail "cannot keep a copy of $dir/deployer"
    fi
    mv -f "$staged" "$dir/deployer" || {
        rm -f "$staged" ${backup:+"$backup"}
        fail "cannot replace $dir/deployer"
    }
    staged=""
    if ! "$dir/deployer" version >"$tmp/version" 2>&1 || [ ! -s "$tmp/version" ]; then
        if [ -n "$backup" ]; then
            mv -f "$backup" "$dir/deployer"
            backup=""
            fail "the new deployer does not run here (\`deployer version\` failed: $(head -n 1 "$tmp/version")); the previous one was put back"
        fi
        rm -f "$dir/deployer"
        fail "the new deployer does not run here (\`deployer version\` failed: $(head -n 1 "$tmp/version")); nothing was installed"
    fi
    installed=$(head -n 1 "$tmp/version")

    say "Installed $installed to $dir/deployer"
    case ":$PATH:" in
        *":$dir:"*) ;;
        *)
            say "note: $dir is not on your PATH; add it, e.g.:"
            say "  echo 'export PATH=\"$dir:\$PATH\"' >> ~/.profile"
            ;;
    esac
}

main "$@"
