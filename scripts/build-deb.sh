#!/usr/bin/env bash
# Builds dist/realm-metrics_<version>_<arch>.deb with dpkg-deb: the release binary (Swift runtime
# linked in statically), the pattern files, the systemd unit, the example configuration (a conffile),
# a man page made from --help, the README and the copyright file (LICENSE).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/.*realmMetricsVersion = "\(.*\)".*/\1/p' Sources/RealmMetricsIO/Version.swift)
arch=$(dpkg --print-architecture)
swift build -c release --static-swift-stdlib --product realm-metrics --scratch-path .build-static >&2
bin=.build-static/release/realm-metrics
stage=dist/stage/realm-metrics_${version}_${arch}
rm -rf "$stage"
install -d "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/share/realm-metrics/patterns/examples" "$stage/usr/share/realm-metrics/prometheus" \
  "$stage/lib/systemd/system" "$stage/etc/realm-metrics" "$stage/usr/share/doc/realm-metrics" "$stage/usr/share/man/man1"
install -m 0755 "$bin" "$stage/usr/bin/realm-metrics"
strip "$stage/usr/bin/realm-metrics"
install -m 0644 patterns/*.yaml "$stage/usr/share/realm-metrics/patterns/"
install -m 0644 patterns/examples/*.yaml "$stage/usr/share/realm-metrics/patterns/examples/"
install -m 0644 packaging/systemd/realm-metrics.service "$stage/lib/systemd/system/"
install -m 0644 packaging/config.yaml "$stage/etc/realm-metrics/config.yaml"
install -m 0644 packaging/prometheus/realm-alerts.yml packaging/prometheus/realm-alerts.test.yml "$stage/usr/share/realm-metrics/prometheus/"
install -m 0644 README.md "$stage/usr/share/doc/realm-metrics/README.md"
# Debian's machine-readable copyright file; the license text is LICENSE's, as a continuation block.
{
  echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
  echo "Upstream-Name: realm-metrics"
  echo
  echo "Files: *"
  echo "Copyright: 2026 The realm-metrics authors"
  echo "License: MIT"
  echo
  echo "License: MIT"
  sed -n '/^Permission is hereby granted/,$p' LICENSE | sed 's/^$/./; s/^/ /'
} > "$stage/usr/share/doc/realm-metrics/copyright"
chmod 0644 "$stage/usr/share/doc/realm-metrics/copyright"
bash scripts/make-manpage.sh "$stage/usr/bin/realm-metrics" "$version" | gzip -9n > "$stage/usr/share/man/man1/realm-metrics.1.gz"
size=$(du -ks "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: realm-metrics
Version: $version
Architecture: $arch
Maintainer: realm-metrics maintainers <realm-metrics@localhost>
Installed-Size: $size
Depends: libc6 (>= 2.34), libpcre2-8-0 (>= 10.34), libsystemd0 (>= 246), libstdc++6, libgcc-s1
Section: admin
Priority: optional
Description: statsd metrics from Realm Object Server and Realm sync worker logs
 A sidecar that follows the journal or log files of unmodified Realm sync
 workers and sends the documented Realm metrics to statsd: counters as
 deltas, gauges reconciled per worker life, state kept across restarts.
CONTROL
echo "/etc/realm-metrics/config.yaml" > "$stage/DEBIAN/conffiles"
# Maintainer scripts: stop on remove, restart on upgrade, delete configuration and state on purge only.
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$stage/DEBIAN/"
out=dist/realm-metrics_${version}_${arch}.deb
dpkg-deb --build --root-owner-group "$stage" "$out" >&2
echo "$out"
