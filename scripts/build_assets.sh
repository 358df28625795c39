#!/bin/sh
# Build the browser assets into static/ from node_modules (run by `npm run build`).
set -e
NM=node_modules
S=static
rm -rf "$S/govuk" "$S/htmx" "$S/css" && mkdir -p "$S/govuk" "$S/htmx" "$S/css"
cp -r "$NM/govuk-frontend/dist/govuk/assets" "$S/govuk/assets"
cp "$NM/govuk-frontend/dist/govuk/govuk-frontend.min.js" "$S/govuk/"
cp "$NM/htmx.org/dist/htmx.min.js" "$S/htmx/"
mkdir -p "$S/js" "$S/images" && cp assets/js/*.js "$S/js/" && cp assets/images/* "$S/images/"
"$NM/.bin/sass" --pkg-importer=node --style=compressed --no-source-map --quiet-deps \
  assets/scss/portal.scss "$S/css/portal.css"
