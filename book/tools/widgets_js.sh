#!/usr/bin/env bash
# Put the JavaScript that the built pages need into book/_static_widgets/, so that no page loads it from a CDN:
#   widgets/require.js, widgets/embed-amd.js + its numbered chunks + fonts   (ipywidgets in static pages)
#   widgets/compat.js (from book/tools/widgets_compat.js: font paths, MathJax 3 for widget labels)
#   mathjax/tex-mml-chtml.js + its fonts                                    (math on the notation page, chapters)
# The npm packages are installed into a cache folder outside git (ZSM_BOOK_CACHE, default
# ~/.cache/zsm-book); book/_static_widgets/ is ignored by git and listed in _config.yml's html_static_path.
# Usage: bash book/tools/widgets_js.sh [--force]     (does nothing when every file is already there)
set -euo pipefail

HTML_MANAGER="@jupyter-widgets/html-manager@1.0.6"
REQUIREJS="requirejs@2.3.7"
MATHJAX="mathjax@3.2.2"

book="$(cd "$(dirname "$0")/.." && pwd)"
static="$book/_static_widgets"
cache="${ZSM_BOOK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zsm-book}/npm"
stamp="$static/.installed"
compat="$book/tools/widgets_compat.js"
wanted="$HTML_MANAGER $REQUIREJS $MATHJAX compat:$(sha256sum "$compat" | cut -c1-16)"

if [[ "${1:-}" != "--force" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    echo "widgets_js: $static already holds $wanted; nothing to do"
    exit 0
fi
command -v npm >/dev/null || { echo "widgets_js: error: npm is needed (Node.js 18 or newer)" >&2; exit 2; }

mkdir -p "$cache"
echo "widgets_js: npm install $wanted into $cache"
# --prefix keeps node_modules in the cache; nothing is written into the repository.
npm install --prefix "$cache" --no-save --no-audit --no-fund --loglevel=error \
    "$HTML_MANAGER" "$REQUIREJS" "$MATHJAX"

dist="$cache/node_modules/@jupyter-widgets/html-manager/dist"
for f in "$dist/embed-amd.js" "$cache/node_modules/requirejs/require.js" \
         "$cache/node_modules/mathjax/es5/tex-mml-chtml.js"; do
    [[ -f "$f" ]] || { echo "widgets_js: error: $f is missing after npm install" >&2; exit 1; }
done

rm -rf "$static"
mkdir -p "$static/widgets" "$static/mathjax"
# embed-amd.js loads its numbered chunks (e.g. 106.embed.js) and its fonts from its own folder; widget
# modules it does not bundle would come from data-jupyter-widgets-cdn, which _config.yml points at
# _static/widgets/ (ours are all built in). Not copied: embed.js / libembed-amd.js (other bundles), source maps.
cp "$dist/embed-amd.js" "$dist/embed.js.LICENSE.txt" "$static/widgets/"
find "$dist" -maxdepth 1 -type f \( -name '[0-9]*.embed.js' -o -name '*.woff' -o -name '*.woff2' \
     -o -name '*.ttf' -o -name '*.eot' -o -name '*.svg' \) -exec cp {} "$static/widgets/" \;
cp "$cache/node_modules/requirejs/require.js" "$static/widgets/"
cp "$compat" "$static/widgets/compat.js"
# MathJax 3: the combined component and the CHTML fonts it loads relative to itself.
cp "$cache/node_modules/mathjax/es5/tex-mml-chtml.js" "$static/mathjax/"
mkdir -p "$static/mathjax/output/chtml"
cp -r "$cache/node_modules/mathjax/es5/output/chtml/fonts" "$static/mathjax/output/chtml/"
echo "$wanted" > "$stamp"
echo "widgets_js: wrote $(find "$static" -type f | wc -l) files ($(du -sh "$static" | cut -f1)) into $static"
