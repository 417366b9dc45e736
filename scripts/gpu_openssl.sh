# Sourced by the GPU scripts: OpenSSL's headers (Debian's libssl-dev) for a machine that has the
# runtime library but no headers and no apt (the GPU machine). Unpacks the carried libssl-dev and
# libssl3 .debs from $DEBS into a prefix laid out as FindOpenSSL expects and adds
# -DOPENSSL_ROOT_DIR to CMAKE_OPENSSL_ARGS; nothing is installed.
CMAKE_OPENSSL_ARGS=()
if [ ! -e /usr/include/openssl/ssl.h ]; then
  if ! ls "$DEBS"/libssl-dev_*.deb "$DEBS"/libssl3_*.deb >/dev/null 2>&1; then
    echo "no OpenSSL headers and no libssl-dev/libssl3 .debs in $DEBS (apt-get download libssl-dev libssl3)" >&2
  else
    ossl=/tmp/rcpu-openssl
    rm -rf "$ossl" && mkdir -p "$ossl"
    for f in "$DEBS"/libssl-dev_*.deb "$DEBS"/libssl3_*.deb; do dpkg -x "$f" "$ossl"; done
    # Debian keeps configuration.h under the multiarch folder and the library under lib/<triplet>.
    cp "$ossl"/usr/include/x86_64-linux-gnu/openssl/* "$ossl/usr/include/openssl/"
    mkdir -p "$ossl/usr/lib" && cp -a "$ossl"/usr/lib/x86_64-linux-gnu/libcrypto.so* "$ossl"/usr/lib/x86_64-linux-gnu/libssl.so* "$ossl/usr/lib/"
    CMAKE_OPENSSL_ARGS=(-DOPENSSL_ROOT_DIR="$ossl/usr")
  fi
fi
