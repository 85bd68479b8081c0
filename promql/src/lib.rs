//! PromQL: parser and evaluator. Depends on `tsdb::model` only.
