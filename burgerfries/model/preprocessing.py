"""Image preprocessing shared by the training input (after augmentation), evaluation and the exported
model; evaluation and the export apply it to the same stored image, so they see the same pixels."""

from __future__ import annotations

import tensorflow as tf


def resize_and_scale(images: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """The OD API's `fixed_shape_resizer` + MobileNetV2 scaling: TF1's legacy bilinear sampling
    (output pixel i reads input position i·in/out, no half-pixel centres; `tf.image.resize` uses
    half-pixel centres, which moved the parity fixture's outputs by up to 0.07), then [−1, 1]."""
    resized = tf.raw_ops.ResizeBilinear(
        images=tf.cast(images, tf.float32), size=size, align_corners=False, half_pixel_centers=False
    )
    return resized * (2.0 / 255.0) - 1.0
