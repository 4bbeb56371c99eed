#!/usr/bin/env bash
# Regenerates po/shoal.pot from the CLI's sources and merges it into every po/*.po, so that new
# messages appear there (untranslated) and removed ones become obsolete (#~). Run it after
# changing a Tr/TrFormat/TrPlural message, then translate what msgmerge added (docs/i18n.md);
# the ctest I18nTest.CatalogsTranslateEveryMessage fails until every message is translated.
#
#   scripts/update-po.sh           # rewrite po/shoal.pot and po/*.po
#   scripts/update-po.sh OUT.pot   # only write the template to OUT.pot (what the check uses)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
pot="${1:-po/shoal.pot}"

# The keywords are cli/i18n.h's functions; --from-code: the sources are UTF-8. Sorted by file so
# that the template does not change with the order find returns files in.
find cli -name '*.cc' -o -name '*.h' | LC_ALL=C sort |
  xgettext --from-code=UTF-8 --language=C++ --keyword= --keyword=Tr:1 --keyword=TrFormat:1 \
    --keyword=TrPlural:1,2 --add-comments=TRANSLATORS: --sort-by-file --no-wrap \
    --package-name=shoal --add-location=file \
    --files-from=- --output="$pot"

if [ $# -eq 0 ]; then
  for po in po/*.po; do
    [ -e "$po" ] || continue
    msgmerge --quiet --update --backup=none --no-wrap "$po" "$pot"
  done
fi
