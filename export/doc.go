// Package export turns captures into records: one row per DNS transaction
// (a query and its response joined; a query never answered, or a response
// whose query was not seen, as a row with the other half null), written as
// NDJSON, CSV or Parquet for SQL engines (DuckDB, ClickHouse, Spark, Trino).
//
// An Exporter decodes packets as the analysis does (link layers, IP
// defragmentation, TCP reassembly, dnstap) and pairs messages with the
// analyzers/dns Analyzer itself, through its Hook: a row's transaction is
// the one the report counts. Rows are written when their transaction ends
// (its response, its timeout, or the end of the input), so they are in
// the order transactions end, not in query order.
//
// Memory is bounded: open queries by the Analyzer's bound (their rows wait
// in a table as large), rows by the writer's row group. One Column table
// (columns.go) gives every format its columns, names, order and nulls.
package export
