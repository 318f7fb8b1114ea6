"""Dataset readers and downloaders (IDX, CSV, CIFAR-10), with checksums and a cache directory."""
