"""Parses an OpenWrt /etc/config directory with netjsonconfig, independently
of Roost's own UCI code (tests/setup.rs runs this).

    python3 uci_netjson.py CONFIG_DIR [PACKAGE...]

The packages (default: network wireless system) go into a tar.gz laid out
as an OpenWrt backup (etc/config/NAME), which netjsonconfig's OpenWrtParser
reads; OpenWrt(native=...) then converts them to NetJSON
DeviceConfiguration. Prints one JSON object: "uci", the parser's view of
every given package (sections with their options), and "netjson", the full
conversion of the packages its schema covers. Exits non-zero on any
error.
"""

import io
import json
import os
import sys
import tarfile

from netjsonconfig import OpenWrt
from netjsonconfig.backends.openwrt.parser import OpenWrtParser


def backup(config_dir, packages):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in packages:
            path = os.path.join(config_dir, name)
            with open(path, "rb") as f:
                data = f.read()
            info = tarfile.TarInfo("etc/config/" + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def main():
    config_dir = sys.argv[1]
    packages = sys.argv[2:] or ["network", "wireless", "system"]
    parsed = OpenWrtParser(backup(config_dir, packages)).intermediate_data
    netjson_packages = [p for p in packages if p in ("network", "wireless", "system")]
    backend = OpenWrt(native=backup(config_dir, netjson_packages))
    backend.validate()
    print(json.dumps({"uci": parsed, "netjson": backend.config}, sort_keys=True))


if __name__ == "__main__":
    main()
