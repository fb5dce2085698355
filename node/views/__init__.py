"""The node's own pages (the guide and the case page are web/'s, registered in node.app)."""
