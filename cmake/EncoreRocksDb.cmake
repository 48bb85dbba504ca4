# encore_rocksdb: RocksDB as an imported target, found by its header and
# library (Debian's librocksdb-dev). Used to build encore::persistence and, from
# an install, by EncoreConfig.cmake for the programs that link it.
find_path(ENCORE_ROCKSDB_INCLUDE_DIR rocksdb/db.h)
find_library(ENCORE_ROCKSDB_LIBRARY rocksdb)
if(NOT ENCORE_ROCKSDB_INCLUDE_DIR OR NOT ENCORE_ROCKSDB_LIBRARY)
  message(FATAL_ERROR "RocksDB not found (Debian: apt-get install librocksdb-dev)")
endif()
if(NOT TARGET encore_rocksdb)
  add_library(encore_rocksdb UNKNOWN IMPORTED)
  set_target_properties(encore_rocksdb PROPERTIES
    IMPORTED_LOCATION ${ENCORE_ROCKSDB_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${ENCORE_ROCKSDB_INCLUDE_DIR})
endif()
