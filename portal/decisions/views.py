"""Views: parse, authorise, call a service, render."""
from flask import Blueprint

bp = Blueprint("decisions", __name__)
