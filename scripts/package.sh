#!/usr/bin/env bash
# Release artifacts for distros, in one command:
#
#   scripts/package.sh [--profile release|debug] [--out DIR] [--no-build]
#
# builds the host (`loadrun`, csv/json built in) and every output plugin, then writes into DIR
# (default target/dist):
#   loadrun-VERSION-ARCH.tar.gz                  bin/ man/ completions/ include/ share/pkgconfig/ README.md
#   loadrun-plugin-NAME-VERSION-ARCH.tar.gz      lib/loadrun/plugins/libout_NAME.so README.md
#   loadrun_VERSION-1_DEBARCH.deb, loadrun-plugin-NAME_VERSION-1_DEBARCH.deb
#
# The .deb packages are built with plain `dpkg-deb --build` from a staged tree, so nothing beyond
# dpkg and cargo is needed here or in CI. Everything about a package (name, depends, the files
# and where they go) is read from its crate's `[package.metadata.deb]`, which is cargo-deb's
# format, so `cargo deb -p CRATE` reads the same table.
set -euo pipefail
cd "$(dirname "$0")/.."

# The plugins shipped as packages; the directory name under plugins/ is the package suffix.
PLUGINS=(statsd datadog netdata influxdb prometheus grafana-cloud timescaledb cloudwatch
         newrelic cloud opentelemetry)

profile=release
out=""
build=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --profile) profile="${2:?--profile needs release or debug}"; shift 2 ;;
        --out) out="${2:?--out needs a directory}"; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "package.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done
case "$profile" in
    release) cargo_profile=(--release) ;;
    debug) cargo_profile=() ;;
    *) echo "package.sh: --profile must be release or debug" >&2; exit 2 ;;
esac

for tool in cargo jq dpkg-deb tar gzip; do
    command -v "$tool" >/dev/null || { echo "package.sh: $tool is required" >&2; exit 1; }
done

metadata=$(cargo metadata --no-deps --format-version 1)
target_dir=$(jq -r .target_directory <<<"$metadata")
bin_dir="$target_dir/$profile"
out=${out:-$target_dir/dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)
gen="$out/generated"
stage="$out/stage"
rm -rf "$gen" "$stage"
mkdir -p "$gen" "$stage"

# Package name → crate: the host crate is `loadrun`, plugin crates carry their deb name.
crate_of() { jq -c --arg deb "$1" '.packages[] | select(.metadata.deb.name == $deb)' <<<"$metadata"; }

crates=(-p loadrun)
for p in "${PLUGINS[@]}"; do
    crate=$(crate_of "loadrun-plugin-$p")
    [[ -n "$crate" ]] || { echo "package.sh: no crate has [package.metadata.deb] name = \"loadrun-plugin-$p\"" >&2; exit 1; }
    crates+=(-p "$(jq -r .name <<<"$crate")")
done
if [[ $build == 1 ]]; then
    cargo build "${cargo_profile[@]}" "${crates[@]}"
fi

# Generated from the clap definition so they always match the binary.
"$bin_dir/loadrun" generate man | gzip -9n >"$gen/loadrun.1.gz"
"$bin_dir/loadrun" generate completions bash >"$gen/loadrun.bash"
"$bin_dir/loadrun" generate completions zsh >"$gen/_loadrun"
"$bin_dir/loadrun" generate completions fish >"$gen/loadrun.fish"

arch=$(rustc -vV | sed -n 's/^host: \([^-]*\)-.*/\1/p')
deb_arch=$(dpkg --print-architecture)

# Asset sources in the metadata are cargo-deb's: relative to the crate, with target/release
# meaning the build output and target/dist/generated our generated files.
asset_source() {
    local crate_dir=$1 src=$2
    case "$src" in
        target/release/*) echo "$bin_dir/${src#target/release/}" ;;
        target/dist/generated/*) echo "$gen/${src#target/dist/generated/}" ;;
        *) echo "$crate_dir/$src" ;;
    esac
}

# Copies a crate's assets into a root tree (the deb layout); debug info is stripped as
# distros do.
stage_assets() {
    local crate=$1 root=$2 crate_dir
    crate_dir=$(dirname "$(jq -r .manifest_path <<<"$crate")")
    while IFS=$'\t' read -r src dest mode; do
        src=$(asset_source "$crate_dir" "$src")
        [[ -f "$src" ]] || { echo "package.sh: missing asset $src" >&2; exit 1; }
        [[ "$dest" == */ ]] && dest="$dest$(basename "$src")"
        install -D -m "$mode" "$src" "$root/$dest"
        if [[ "$mode" == 755 || "$dest" == *.so ]]; then
            strip --strip-debug "$root/$dest" 2>/dev/null || true
        fi
    done < <(jq -r '.metadata.deb.assets[] | @tsv' <<<"$crate")
}

# DEBIAN/control from the crate's metadata.
write_control() {
    local crate=$1 root=$2 field value
    mkdir -p "$root/DEBIAN"
    {
        echo "Package: $(jq -r .metadata.deb.name <<<"$crate")"
        echo "Version: $(jq -r .version <<<"$crate")-1"
        echo "Architecture: $deb_arch"
        echo "Maintainer: $(jq -r .metadata.deb.maintainer <<<"$crate")"
        echo "Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)"
        for field in depends suggests enhances section priority; do
            value=$(jq -r --arg f "$field" '.metadata.deb[$f] // empty' <<<"$crate")
            [[ -n "$value" ]] && echo "${field^}: $value"
        done
        value=$(jq -r '.homepage // .repository // empty' <<<"$crate")
        [[ -n "$value" ]] && echo "Homepage: $value"
        echo "Description: $(jq -r .description <<<"$crate")"
        # Extended description: each line indented, blank lines as " .".
        jq -r '.metadata.deb["extended-description"] // empty' <<<"$crate" \
            | fold -s -w 78 | sed -e 's/ *$//' -e 's/^$/./' -e 's/^/ /'
    } >"$root/DEBIAN/control"
    (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' \
        | sort -z | xargs -0r md5sum) >"$root/DEBIAN/md5sums"
}

build_deb() {
    local crate=$1 name version root
    name=$(jq -r .metadata.deb.name <<<"$crate")
    version=$(jq -r .version <<<"$crate")
    root="$stage/deb/$name"
    stage_assets "$crate" "$root"
    write_control "$crate" "$root"
    # xz for release artifacts; debug packages (tests) favour speed.
    local compress=(-Zxz)
    [[ $profile == debug ]] && compress=(-Zgzip -z1)
    dpkg-deb --root-owner-group "${compress[@]}" --build "$root" \
        "$out/${name}_${version}-1_${deb_arch}.deb" >/dev/null
    echo "$out/${name}_${version}-1_${deb_arch}.deb"
}

make_tarball() {
    local dir=$1 file=$2
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='@0' \
        -C "$(dirname "$dir")" -czf "$file" "$(basename "$dir")"
    echo "$file"
}

# The host: its deb, then the tarball from the same staged files.
host=$(crate_of loadrun)
version=$(jq -r .version <<<"$host")
build_deb "$host"
root="$stage/deb/loadrun"
tree="$stage/tar/loadrun-$version-$arch"
install -D -m 755 "$root/usr/bin/loadrun" "$tree/bin/loadrun"
install -D -m 644 "$root/usr/share/man/man1/loadrun.1.gz" "$tree/man/man1/loadrun.1.gz"
install -D -m 644 -t "$tree/completions" "$gen/loadrun.bash" "$gen/_loadrun" "$gen/loadrun.fish"
install -D -m 644 README.md "$tree/README.md"
install -D -m 644 -t "$tree/include/loadrun" "$root/usr/include/loadrun/loadrun_plugin.h"
install -D -m 644 -t "$tree/share/pkgconfig" "$root/usr/share/pkgconfig/loadrun-plugin.pc"
make_tarball "$tree" "$out/loadrun-$version-$arch.tar.gz"

for p in "${PLUGINS[@]}"; do
    crate=$(crate_of "loadrun-plugin-$p")
    version=$(jq -r .version <<<"$crate")
    build_deb "$crate"
    root="$stage/deb/loadrun-plugin-$p"
    tree="$stage/tar/loadrun-plugin-$p-$version-$arch"
    install -D -m 644 -t "$tree/lib/loadrun/plugins" "$root"/usr/lib/loadrun/plugins/*.so
    install -D -m 644 "$(dirname "$(jq -r .manifest_path <<<"$crate")")/README.md" "$tree/README.md"
    make_tarball "$tree" "$out/loadrun-plugin-$p-$version-$arch.tar.gz"
done

rm -rf "$stage"
