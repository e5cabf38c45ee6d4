"""REST ``/api/v1`` routes, one module per area; each calls the same services as DDP."""
