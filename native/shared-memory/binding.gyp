{
  "targets": [
    {
      "target_name": "shared_memory",
      "sources": ["shared_memory.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
