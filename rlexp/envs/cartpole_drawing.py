"""A CartPole frame drawn from its state, with gym 0.23's geometry and colours (600x400),
so native-TF CartPole videos look like gym's. PIL only: no display, no pygame."""

from __future__ import annotations

import math

import numpy as np

WIDTH, HEIGHT = 600, 400
X_THRESHOLD = 2.4
SCALE = WIDTH / (2 * X_THRESHOLD)
POLE_WIDTH, POLE_LENGTH = 10.0, SCALE * 1.0  # gym: 2 * length (0.5)
CART_WIDTH, CART_HEIGHT = 50.0, 30.0
CART_Y = 100  # from the bottom, as gym draws before flipping


def draw_cartpole(x: float, theta: float) -> np.ndarray:
    """The (400, 600, 3) uint8 frame of a cart at `x` with the pole at angle `theta`."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(image)

    def flip(points):  # gym's y axis points up
        return [(px, HEIGHT - py) for px, py in points]

    cart_x = x * SCALE + WIDTH / 2.0
    left, right = cart_x - CART_WIDTH / 2, cart_x + CART_WIDTH / 2
    top, bottom = CART_Y + CART_HEIGHT / 2, CART_Y - CART_HEIGHT / 2
    draw.polygon(flip([(left, bottom), (left, top), (right, top), (right, bottom)]), (0, 0, 0))
    axle_offset = CART_HEIGHT / 4.0
    half = POLE_WIDTH / 2
    pole = []
    for px, py in [
        (-half, -half),
        (-half, POLE_LENGTH - half),
        (half, POLE_LENGTH - half),
        (half, -half),
    ]:
        angle = -theta
        rx = px * math.cos(angle) - py * math.sin(angle)
        ry = px * math.sin(angle) + py * math.cos(angle)
        pole.append((rx + cart_x, ry + CART_Y + axle_offset))
    draw.polygon(flip(pole), (202, 152, 101))
    axle = flip([(cart_x, CART_Y + axle_offset)])[0]
    draw.ellipse([axle[0] - half, axle[1] - half, axle[0] + half, axle[1] + half], (129, 132, 203))
    draw.line([(0, HEIGHT - CART_Y), (WIDTH, HEIGHT - CART_Y)], (0, 0, 0))
    return np.asarray(image, dtype=np.uint8)
