from flask import Blueprint

bp = Blueprint("mediators", __name__)
