"""Data: LabelImg/VOC reading and repair, the OD-API TFRecord schema, splits, the tf.data input
(the drawn scenes are in `scenes/`)."""
