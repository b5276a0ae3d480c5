// Package sketch holds the mergeable summaries visor keeps per bucket:
// frequent items, cardinality and quantiles.
//
// Every summary has a bounded memory footprint, adds an observation without
// allocating once it has warmed up, merges with another summary of the same
// kind (across time buckets and across worker shards) and can be Reset for
// reuse. None of the types is safe for concurrent use; give each worker its
// own summary and Merge them.
package sketch
