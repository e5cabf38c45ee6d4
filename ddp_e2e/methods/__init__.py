"""DDP registrations: each module declares methods and publications with their param shapes
and delegates to ``ddp_e2e.services``."""
