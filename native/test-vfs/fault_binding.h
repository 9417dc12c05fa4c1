// Owns the JS face of the fault-injection VFS (fault_vfs.h): the `faultVfs` object that the
// fault-injection build of the addon exports, and that only tests use. Compiled only with
// LITEPOOL_FAULT_VFS.
#pragma once

#include <napi.h>

namespace litepool::fault {

// JS thread (module initialization). Registers the VFS and returns the object:
//   faultVfs.name                      the VFS name the test-only pool option selects
//   faultVfs.arm({ call, nth, code, files, sticky, shortRead })
//       call: 'read' | 'write' | 'sync' | 'truncate' | 'lock' | 'shmLock'
//       nth: the Nth matching call from now fails (default 1); code: SQLite result code
//       files: array of 'main' | 'wal' | 'journal' | 'other' (default: every file)
//   faultVfs.clear()                   disarms every fault
//   faultVfs.stats()                   { calls: { read, write, ... }, faults }
Napi::Object binding(Napi::Env env);

}  // namespace litepool::fault
