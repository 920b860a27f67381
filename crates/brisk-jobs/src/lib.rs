//! Durable background jobs and cron for brisk, stored in the app's database.
