"""The web channel's public side: banner, status page, feeds, live events, static export."""
