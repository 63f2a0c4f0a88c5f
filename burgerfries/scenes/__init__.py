"""Drawn scenes: the synthetic burger/fries set the main job trains on, and the everyday-object
pretraining scenes the shipped starts were made from (shapes, sprites, pieces of the photographs
scikit-image ships). Written out as LabelImg folders that `data/` prepares like a user's own."""
