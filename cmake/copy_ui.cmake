# Builds the dashboard's asset directory (run by the shoal-ui target with cmake -P):
#   -DSRC=<repo>/web/src -DMODULES=<repo>/web/node_modules -DOUT=<build>/scheduler/ui
# OUT gets web/src's files and the vendor files from web/node_modules (htm's Preact build, uPlot).
# Without node_modules the directory still builds, without vendor/, and the page says the
# libraries are missing (scripts/install-deps.sh runs npm ci in web/).
file(REMOVE_RECURSE "${OUT}")
file(COPY "${SRC}/" DESTINATION "${OUT}")
set(vendor
    "htm/preact/standalone.module.js|htm/standalone.module.js"
    "htm/LICENSE|htm/LICENSE"
    "uplot/dist/uPlot.esm.js|uplot/uPlot.esm.js"
    "uplot/dist/uPlot.min.css|uplot/uPlot.min.css"
    "uplot/LICENSE|uplot/LICENSE")
set(missing "")
foreach(pair ${vendor})
  string(REPLACE "|" ";" parts "${pair}")
  list(GET parts 0 from)
  list(GET parts 1 to)
  if(EXISTS "${MODULES}/${from}")
    get_filename_component(dir "${OUT}/vendor/${to}" DIRECTORY)
    file(COPY "${MODULES}/${from}" DESTINATION "${dir}")
  else()
    list(APPEND missing "${from}")
  endif()
endforeach()
if(missing)
  message(WARNING "shoal-ui: ${MODULES} lacks ${missing}: the dashboard will say its libraries are "
                  "missing. Run scripts/install-deps.sh (npm ci in web/) and rebuild.")
endif()
