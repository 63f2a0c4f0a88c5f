"""Data: LabelImg/VOC reading and repair, synthetic scenes, the OD-API TFRecord schema, splits."""
