"""Page pieces both apps register: layout, login, notices, translations, static assets."""
