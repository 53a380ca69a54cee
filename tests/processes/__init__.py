"""Worker processes sharing a store on one machine."""
