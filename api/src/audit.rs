//! The access audit: every read of a resident's data appends an `AuditEvent` record to the log.
