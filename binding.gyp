# Builds the addon with node-gyp: the install-time fallback when no prebuilt binary fits
# (node-gyp-build runs `node-gyp rebuild`). CMakeLists.txt builds the same sources with cmake-js;
# test/05-build-config.test.ts keeps the two source lists equal.
{
  'variables': {
    # Fetches and verifies the SQLite amalgamation first (a no-op when deps/sqlite/ is current).
    # The script prints nothing with --quiet, so the expansion leaves 'deps/sqlite'.
    'sqlite_dir': 'deps/sqlite<!(node deps/fetch-sqlite.mjs --quiet)',
    'sqlite_release_defines': ['<!@(node deps/sqlite-options.mjs release)'],
    'sqlite_debug_defines': ['<!@(node deps/sqlite-options.mjs debug)'],
  },
  'targets': [
    {
      'target_name': 'sqlite3',
      'type': 'static_library',
      'sources': ['<(sqlite_dir)/sqlite3.c'],
      'include_dirs': ['<(sqlite_dir)'],
      'direct_dependent_settings': {
        'include_dirs': ['<(sqlite_dir)'],
      },
      # Hidden symbols (here and in 'litepool'): the addon exports only its Node-API entry points,
      # so its SQLite never binds to, or is interposed by, another copy in the same process
      # (scripts/check-binary.mjs checks the exports of every prebuild).
      'cflags': ['-w', '-fvisibility=hidden'],
      'xcode_settings': {
        'WARNING_CFLAGS': ['-w'],
        'GCC_SYMBOLS_PRIVATE_EXTERN': 'YES',
        'MACOSX_DEPLOYMENT_TARGET': '11.0',
      },
      'msvs_settings': {
        'VCCLCompilerTool': { 'WarningLevel': 0 },
      },
      'configurations': {
        'Release': {
          'defines': ['<@(sqlite_release_defines)'],
          # Every function starts on a 64-byte boundary, so the layout of SQLite's hot loops in
          # the instruction cache no longer depends on how much addon code is linked before them:
          # without it, an unrelated change to the addon moved sqlite3VdbeExec and made the heavy
          # read workload 7% slower (docs/benchmarks.md, "Code alignment"). CMakeLists.txt too.
          'cflags': ['-O3', '-falign-functions=64'],
          'xcode_settings': { 'GCC_OPTIMIZATION_LEVEL': '3', 'OTHER_CFLAGS': ['-falign-functions=64'] },
        },
        'Debug': {
          'defines': ['<@(sqlite_debug_defines)'],
        },
      },
    },
    {
      'target_name': 'litepool',
      'dependencies': ['sqlite3'],
      'sources': [
        'native/addon/addon.cc',
        'native/addon/batch_encoder.cc',
        'native/addon/completion.cc',
        'native/addon/contract_export.cc',
        'native/addon/convert.cc',
        'native/addon/heap_trim.cc',
        'native/addon/pool_submit.cc',
        'native/addon/pool_wrap.cc',
        'native/core/bind.cc',
        'native/core/connection.cc',
        'native/core/engine.cc',
        'native/core/insert_rows.cc',
        'native/core/maintenance.cc',
        'native/core/schema_refresh.cc',
        'native/core/sqlite_init.cc',
        'native/core/statement.cc',
        'native/core/transaction.cc',
        'native/core/worker.cc',
      ],
      'include_dirs': [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        'native/core',
        'native/addon',
      ],
      'defines': [
        'NAPI_VERSION=8',
        'NAPI_CPP_EXCEPTIONS',
        'NODE_ADDON_API_DISABLE_DEPRECATED',
        # A JS call into the addon while a worker thread terminates cannot throw into JS; without
        # this, node-addon-api rethrows in C++ past V8 and the process aborts.
        'NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS',
      ],
      'cflags': ['-fvisibility=hidden'],
      'cflags!': ['-fno-exceptions'],
      'cflags_cc!': ['-fno-exceptions', '-std=gnu++17', '-std=gnu++1y', '-std=gnu++14'],
      'cflags_cc': ['-std=c++20', '-fexceptions', '-Wall', '-Wextra', '-Wno-unused-parameter'],
      'xcode_settings': {
        'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
        'CLANG_CXX_LANGUAGE_STANDARD': 'c++20',
        'CLANG_CXX_LIBRARY': 'libc++',
        'GCC_SYMBOLS_PRIVATE_EXTERN': 'YES',
        'GCC_INLINES_ARE_PRIVATE_EXTERN': 'YES',
        'MACOSX_DEPLOYMENT_TARGET': '11.0',
      },
      'conditions': [
        ['OS=="linux"', {
          # Exports only the Node-API entry points (CMakeLists.txt passes the same version script).
          'ldflags': ['-Wl,--version-script=<(module_root_dir)/native/addon/exports.map'],
        }],
      ],
      'msvs_settings': {
        'VCCLCompilerTool': {
          'ExceptionHandling': 1,
          'AdditionalOptions': ['/std:c++20'],
        },
      },
      'configurations': {
        'Release': {
          # Release builds drop the debug assertions (the JS-thread checks in engine.h).
          'defines': ['NDEBUG'],
          'cflags_cc': ['-O3'],
        },
      },
    },
  ],
}
