"""Exporters for trained tfcreative models, installed as `tfcreative.export`.

`tfcreative.export.saved_model.export_saved_model(model, base_dir)` writes a SavedModel that
TF Serving loads without any tfcreative code (`tfcreative export` on the command line).
"""
