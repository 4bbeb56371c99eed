#!/usr/bin/env python3
"""Checks that every catalog in po/ translates every message of the CLI's sources.

  python3 scripts/check-po.py [REPO_ROOT]

Extracts the messages afresh with scripts/update-po.sh (xgettext) into a temporary template, so a
new Tr("...") in cli/ fails the check even when po/shoal.pot was not regenerated. For each
po/*.po, every message of the template must be present, not fuzzy, not obsolete, with every
msgstr (each plural form) non-empty and using exactly the msgid's "{N}" placeholders (a lost or
invented placeholder would print wrong text). Exit 0 when all catalogs are complete, 1 with the
problems printed (how to fix them: docs/i18n.md).
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

PLACEHOLDER = re.compile(r"\{[0-9]+\}")


def unquote(text):
    """The value of a PO string literal's body (C escapes, UTF-8)."""
    out, i = [], 0
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(escapes.get(text[i + 1], text[i + 1]))
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_po(path):
    """The entries of a PO file: dicts with msgctxt, msgid, msgid_plural, msgstr (list of forms),
    fuzzy and obsolete."""
    entries, entry, key = [], None, None

    def finish():
        if entry is not None and "msgid" in entry:
            entries.append(entry)

    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            obsolete = line.startswith("#~")
            if obsolete:
                line = line[2:].lstrip()
            if not line.strip():
                continue
            if line.startswith("#") and not obsolete:
                if entry is not None and "msgid" in entry and key is not None:
                    finish()
                    entry, key = None, None
                if entry is None:
                    entry = {"fuzzy": False, "obsolete": False, "msgstr": {}}
                if line.startswith("#,") and "fuzzy" in line:
                    entry["fuzzy"] = True
                continue
            m = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+"(.*)"$', line)
            if m:
                word = m.group(1)
                if word in ("msgctxt", "msgid") and entry is not None and "msgid" in entry:
                    finish()
                    entry = None
                if entry is None:
                    entry = {"fuzzy": False, "obsolete": False, "msgstr": {}}
                entry["obsolete"] = entry["obsolete"] or obsolete
                value = unquote(m.group(3))
                if word.startswith("msgstr"):
                    key = ("msgstr", int(m.group(2) or 0))
                    entry["msgstr"][key[1]] = value
                else:
                    key = (word, None)
                    entry[word] = value
                continue
            m = re.match(r'^"(.*)"$', line)
            if m and entry is not None and key is not None:
                value = unquote(m.group(1))
                if key[0] == "msgstr":
                    entry["msgstr"][key[1]] += value
                else:
                    entry[key[0]] += value
                continue
            raise ValueError(f"{path}: cannot parse line: {raw!r}")
    finish()
    return entries


def entry_key(e):
    return (e.get("msgctxt"), e["msgid"])


def check_catalog(template, po_path):
    problems = []
    translations = {entry_key(e): e for e in parse_po(po_path) if e["msgid"] != ""}
    name = os.path.relpath(po_path)
    for t in template:
        if t["msgid"] == "":
            continue
        e = translations.get(entry_key(t))
        shown = t["msgid"] if len(t["msgid"]) < 70 else t["msgid"][:67] + "..."
        if e is None or e["obsolete"]:
            problems.append(f"{name}: missing: {shown!r}")
            continue
        if e["fuzzy"]:
            problems.append(f"{name}: fuzzy (needs review): {shown!r}")
            continue
        forms = [e["msgstr"][k] for k in sorted(e["msgstr"])]
        if not forms or any(f == "" for f in forms):
            problems.append(f"{name}: untranslated: {shown!r}")
            continue
        wanted = set(PLACEHOLDER.findall(t["msgid"]))
        if "msgid_plural" in t:
            wanted |= set(PLACEHOLDER.findall(t["msgid_plural"]))
        for form in forms:
            have = set(PLACEHOLDER.findall(form))
            # A plural form may drop {0} (e.g. "one job"), never use a placeholder the msgid lacks.
            if have - wanted or ("msgid_plural" not in t and have != wanted):
                problems.append(
                    f"{name}: placeholders {sorted(have)} differ from {sorted(wanted)}: {shown!r}"
                )
                break
    return problems


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(__file__) + "/..")
    os.chdir(root)
    with tempfile.TemporaryDirectory() as tmp:
        pot = os.path.join(tmp, "shoal.pot")
        subprocess.run(["bash", "scripts/update-po.sh", pot], check=True)
        template = parse_po(pot)
    catalogs = sorted(glob.glob("po/*.po"))
    if not catalogs:
        print("check-po: no po/*.po catalogs")
        return 1
    problems = []
    for po in catalogs:
        problems += check_catalog(template, po)
    if problems:
        print("\n".join(problems))
        print(f"check-po: {len(problems)} problem(s); run scripts/update-po.sh and translate "
              "(docs/i18n.md)")
        return 1
    print(f"check-po: {len(catalogs)} catalog(s) translate all "
          f"{sum(1 for t in template if t['msgid'])} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
