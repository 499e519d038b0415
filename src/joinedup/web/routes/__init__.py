"""One router per page; ``joinedup.web.app`` collects them."""
