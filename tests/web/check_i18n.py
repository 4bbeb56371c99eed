#!/usr/bin/env python3
"""The dashboard's translations: fails when web/src/i18n/en.json and zh.json have different key
sets, when a value is empty, or when a t('...') key used in web/src is in neither catalog.

    python3 tests/web/check_i18n.py [WEB_SRC_DIR]

Every string a person reads goes through t(key) with a literal key (no computed keys), so the
keys are found by a regular expression over web/src/**/*.js.
"""
import json
import pathlib
import re
import sys

CALL = re.compile(r"""\bt\(\s*(['"])([^'"\\]+)\1""")


def main() -> int:
    src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                       pathlib.Path(__file__).resolve().parents[2] / "web" / "src")
    catalogs = {}
    for code in ("en", "zh"):
        path = src / "i18n" / f"{code}.json"
        with open(path, encoding="utf-8") as f:
            catalogs[code] = json.load(f)
    errors = []
    en, zh = set(catalogs["en"]), set(catalogs["zh"])
    for key in sorted(en - zh):
        errors.append(f"zh.json lacks {key!r} (in en.json)")
    for key in sorted(zh - en):
        errors.append(f"en.json lacks {key!r} (in zh.json)")
    for code, cat in catalogs.items():
        for key, value in cat.items():
            if not isinstance(value, str) or not value.strip():
                errors.append(f"{code}.json: {key!r} is empty or not a string")
    used = {}
    for js in sorted(src.rglob("*.js")):
        if "vendor" in js.relative_to(src).parts:
            continue
        for m in CALL.finditer(js.read_text(encoding="utf-8")):
            used.setdefault(m.group(2), f"{js.relative_to(src)}")
    for key, where in sorted(used.items()):
        for code, cat in catalogs.items():
            if key not in cat:
                errors.append(f"{where}: t({key!r}) is not in {code}.json")
    unused = sorted(en - set(used))
    for e in errors:
        print(f"check_i18n: {e}", file=sys.stderr)
    print(f"check_i18n: {len(used)} keys used in {src}, {len(en)} in en.json, {len(zh)} in zh.json"
          + (f"; unused: {', '.join(unused)}" if unused else ""))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
