"""Qt-free, torch-free core: documents, image I/O, masks, edits, history, region planning."""
