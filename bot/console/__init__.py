"""The operators' console (`/console`): the web's operator surface, behind the admin token."""
