pub mod demo;
pub mod ingest;
pub mod init;
pub mod log;
pub mod verify;
