// The 50 MiB test measures the process's heap and the "storage unchanged" checks snapshot whole buckets:
// both need the other test classes to be quiet meanwhile.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
