// Preact + htm (htm's standalone build, copied from web/node_modules by CMake): one place that
// names the vendor path.
export * from './vendor/htm/standalone.module.js';
